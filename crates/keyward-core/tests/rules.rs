//! The rule corpus: every built-in rule's examples and negative examples, run through the
//! full matcher (prefilter, regex, entropy, checksum, placeholders, overlap removal).

use std::collections::HashSet;

use keyward_core::{Matcher, RuleSet, Scratch, check};

#[test]
fn every_builtin_example_matches_and_no_negative_does() {
    let summary = check(RuleSet::builtin(), &RuleSet::builtin_sources());
    let problems: Vec<String> = summary.problems.iter().map(ToString::to_string).collect();
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        summary.rules >= 200,
        "only {} built-in rules",
        summary.rules
    );
}

#[test]
fn every_builtin_rule_has_two_examples_of_each_kind_and_a_remediation() {
    let set = RuleSet::from_sources(&RuleSet::builtin_sources()).expect("built-in rules load");
    let mut short = Vec::new();
    for r in set.rules() {
        if r.spec.examples.len() < 2
            || r.spec.negative_examples.len() < 2
            || r.spec.remediation.is_none()
        {
            short.push(format!("{} ({})", r.spec.id, r.origin));
        }
    }
    assert!(
        short.is_empty(),
        "rules without 2 examples, 2 negatives and a remediation: {short:?}"
    );
}

#[test]
fn the_compiled_in_rules_are_the_yaml_sources() {
    let from_yaml: HashSet<String> = RuleSet::from_sources(&RuleSet::builtin_sources())
        .expect("built-in rules load")
        .rules()
        .iter()
        .map(|r| r.spec.id.clone())
        .collect();
    let compiled: HashSet<String> = RuleSet::builtin()
        .rules()
        .iter()
        .map(|r| r.spec.id.clone())
        .collect();
    assert_eq!(from_yaml, compiled);
}

/// Examples stay findable when buried in unrelated text: the windows and the prefilter do
/// not depend on the example being the whole input.
#[test]
fn examples_are_found_inside_larger_files() {
    let set = RuleSet::from_sources(&RuleSet::builtin_sources()).expect("built-in rules load");
    let matcher = Matcher::new(RuleSet::builtin()).expect("matcher");
    let filler = "fn unrelated(x: u32) -> u32 { x + 1 } // nothing to see here\n".repeat(200);
    let mut scratch = Scratch::new();
    let mut missing = Vec::new();
    for r in set.rules() {
        for (n, ex) in r.spec.examples.iter().enumerate() {
            let text = format!("{filler}{ex}\n{filler}");
            let found = matcher.scan(text.as_bytes(), &mut scratch);
            if !found
                .iter()
                .any(|f| matcher.rules()[f.rule].spec.id == r.spec.id)
            {
                missing.push(format!("{} example {}", r.spec.id, n + 1));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not found inside a larger file: {missing:?}"
    );
}
