const token = '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'; // keyward:allow reason="fixture"
