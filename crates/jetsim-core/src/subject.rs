//! Subjects: validation, wildcard matching, overlap and subset tests
//! (spec §1.6; behaviour modelled on nats-server `server/sublist.go`).
//!
//! A subject is one or more `.`-separated, non-empty tokens. A *wildcard* is a
//! whole token: `*` matches exactly one token, `>` matches one or more trailing
//! tokens and must be the last token. `*` or `>` inside a longer token (`foo*`,
//! `>bar`) is an ordinary literal character.
//!
//! Every function here is total: it never panics, whatever the input.

/// The token separator.
pub const TSEP: char = '.';
/// The single-token wildcard.
pub const PWC: &str = "*";
/// The full (tail) wildcard.
pub const FWC: &str = ">";
/// Maximum length of a stream or consumer name (`JSMaxNameLen`).
pub const MAX_ASSET_NAME_LEN: usize = 255;

/// The tokens of `s`, in order. `""` yields one empty token, `"a..b"` yields
/// an empty token in the middle (callers that care validate first).
pub fn tokens(s: &str) -> std::str::Split<'_, char> {
    s.split(TSEP)
}

/// The number of tokens (`""` counts as one empty token, like `str::split`).
pub fn num_tokens(s: &str) -> usize {
    tokens(s).count()
}

/// Characters nats-server treats as whitespace inside a subject.
fn is_subject_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}')
}

/// Is `s` a valid subject (literal or wildcard)?
///
/// Same rules as nats-server `IsValidSubject`: non-empty; no empty token; no
/// ` \t\n\r\f`; nothing after a `>` token. Additionally (spec §1.6, and
/// nats-server's `checkRunes` variant) a NUL byte is refused. Invalid UTF-8
/// cannot occur in a `&str`; a byte-level caller must refuse it before
/// converting.
pub fn is_valid_subject(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    let mut after_fwc = false;
    for t in tokens(s) {
        if t.is_empty() || after_fwc {
            return false;
        }
        if t.chars().any(|c| is_subject_space(c) || c == '\0') {
            return false;
        }
        if t == FWC {
            after_fwc = true;
        }
    }
    true
}

/// Does `s` contain no wildcard token? (nats-server `subjectIsLiteral`: does
/// not validate, so `""` and `"a..b"` count as literal.)
pub fn is_literal(s: &str) -> bool {
    !tokens(s).any(|t| t == PWC || t == FWC)
}

/// Is `s` a subject a client may publish to: valid and literal?
pub fn is_valid_publish_subject(s: &str) -> bool {
    is_valid_subject(s) && is_literal(s)
}

/// Is `s` a valid stream or consumer name (nats-server `isValidAssetName` plus
/// the `JSMaxNameLen` limit)? Non-empty, at most 255 bytes, and none of
/// space, `\t`, `\r`, `\n`, `\f`, `.`, `*`, `>`, `\`, `/`.
pub fn is_valid_asset_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ASSET_NAME_LEN
        && !s.chars().any(|c| matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{c}' | '.' | '*' | '>' | '\\' | '/'))
}

/// Does `subject` match the wildcard `pattern`?
///
/// `pattern` must be a valid subject (else `false`). `subject` is normally a
/// literal; it must have no empty token (else `false`). A `*` or `>` token in
/// `subject` is only matched by a wildcard in `pattern`, which is what the
/// nats-server sublist does when a non-pedantic client publishes to such a
/// subject. This is the exact relation [`crate::sublist::Sublist::matches`]
/// implements.
pub fn matches(pattern: &str, subject: &str) -> bool {
    if !is_valid_subject(pattern) || subject.is_empty() || tokens(subject).any(str::is_empty) {
        return false;
    }
    matches_tokens(pattern, subject)
}

/// The token walk behind [`matches`], without validation. Both arguments are
/// assumed to be well formed (the sublist only stores valid patterns and only
/// caches subjects without empty tokens).
pub(crate) fn matches_tokens(pattern: &str, subject: &str) -> bool {
    let mut p = tokens(pattern);
    let mut s = tokens(subject);
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            // `>` takes this token and everything after it (at least one).
            (Some(FWC), Some(_)) => return p.next().is_none(),
            (Some(PWC), Some(_)) => {}
            (Some(pt), Some(st)) if pt == st => {}
            _ => return false,
        }
    }
}

/// Is the token a whole `*` or `>`?
fn is_wildcard_token(t: &str) -> bool {
    t == PWC || t == FWC
}

/// (has `*` token, has `>` token)
fn analyze(toks: &[&str]) -> (bool, bool) {
    let pwc = toks.contains(&PWC);
    let fwc = toks.contains(&FWC);
    (pwc, fwc)
}

/// nats-server `tokensCanMatch`: note that it looks at the *first byte* only,
/// so a token such as `*x` or `>x` is treated like a wildcard here.
fn tokens_can_match(t1: &str, t2: &str) -> bool {
    if t1.is_empty() || t2.is_empty() {
        return false;
    }
    let wild = |t: &str| t.starts_with('*') || t.starts_with('>');
    if wild(t1) || wild(t2) {
        return true;
    }
    t1 == t2
}

/// Can the two patterns match a common subject? (nats-server
/// `SubjectsCollide`, as in 2.9.10 through 2.12.x.)
///
/// Invalid subjects never collide. For patterns whose tokens are plain words,
/// `*` and `>` the answer is exact. Faithful to nats-server, a token that
/// merely *starts* with `*` or `>` (`*x`) is treated as a wildcard when both
/// patterns contain wildcards, so `a.*x.*` and `a.y.*` collide although no
/// subject matches both (and, in the literal-vs-wildcard branch, see
/// [`is_subset_match`]).
pub fn subjects_collide(a: &str, b: &str) -> bool {
    if !is_valid_subject(a) || !is_valid_subject(b) {
        return false;
    }
    if a == b {
        return true;
    }
    let t1: Vec<&str> = tokens(a).collect();
    let t2: Vec<&str> = tokens(b).collect();
    let (pwc1, fwc1) = analyze(&t1);
    let (pwc2, fwc2) = analyze(&t2);
    let lit1 = !(pwc1 || fwc1);
    let lit2 = !(pwc2 || fwc2);
    match (lit1, lit2) {
        (true, true) => return false, // a != b
        (true, false) => return subset_tokens(&t1, &t2),
        (false, true) => return subset_tokens(&t2, &t1),
        (false, false) => {}
    }
    let (l1, l2) = (t1.len(), t2.len());
    if l1 != l2 {
        // Without `>` the lengths must be equal; with different lengths the
        // shorter one must end in `>`.
        if (l1 < l2 && !fwc1) || (l2 < l1 && !fwc2) {
            return false;
        }
    }
    t1.iter().zip(t2.iter()).all(|(x, y)| tokens_can_match(x, y))
}

/// Is every subject matched by `subject_pattern` also matched by `of`?
/// (nats-server `subjectIsSubsetMatch(subject, test)`: `foo.*` is a subset of
/// `>`, `*.*` and `foo.*`, but not of `foo.bar`.)
///
/// Invalid subjects give `false`. Exact for tokens that are plain words, `*`
/// and `>`; faithful to nats-server, a token of `of` that starts with `*`
/// (`*x`) matches any literal token of `subject_pattern`.
pub fn is_subset_match(subject_pattern: &str, of: &str) -> bool {
    if !is_valid_subject(subject_pattern) || !is_valid_subject(of) {
        return false;
    }
    let t1: Vec<&str> = tokens(subject_pattern).collect();
    let t2: Vec<&str> = tokens(of).collect();
    subset_tokens(&t1, &t2)
}

/// nats-server `isSubsetMatchTokenized(tokens, test)`.
fn subset_tokens(sub: &[&str], test: &[&str]) -> bool {
    for (i, t2) in test.iter().enumerate() {
        let Some(t1) = sub.get(i) else {
            return false;
        };
        if t2.is_empty() || t1.is_empty() {
            return false;
        }
        if *t2 == FWC {
            return true;
        }
        if *t1 == FWC {
            return false;
        }
        if *t1 == PWC {
            if *t2 != PWC {
                return false;
            }
            continue;
        }
        if !t2.starts_with('*') && t1 != t2 {
            return false;
        }
    }
    sub.len() == test.len()
}

/// Does any token of `s` equal `*` or `>`? (The negation of [`is_literal`].)
pub fn has_wildcard(s: &str) -> bool {
    tokens(s).any(is_wildcard_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_subjects() {
        // Cases from nats-server TestSublistValidSubjects.
        for s in [".", ".foo", "foo.", "foo..bar", ">.bar", "foo.>.bar", ""] {
            assert!(!is_valid_subject(s), "{s:?} should be invalid");
        }
        for s in [
            "foo",
            "foo.bar.*",
            "foo.bar.>",
            "*",
            ">",
            "foo*",
            "foo**",
            "foo.**",
            "foo*bar",
            "foo.*bar",
            "foo*.bar",
            "*bar",
            "foo>",
            "foo.>>",
            "foo>bar",
            "foo.>bar",
            "foo>.bar",
            ">bar",
            "*.*.>",
            "$JS.API.>",
            "_INBOX.abc.*",
            "ünïcödé.主题",
        ] {
            assert!(is_valid_subject(s), "{s:?} should be valid");
        }
    }

    #[test]
    fn whitespace_and_nul_are_invalid() {
        for s in ["foo bar", "foo.\tbar", "foo.bar\n", "\r", "foo.\u{c}", " ", "foo. .bar", "foo.bar.baz.\0", "a\0b"] {
            assert!(!is_valid_subject(s), "{s:?} should be invalid");
        }
        // Only the five ASCII whitespace characters are refused, like nats-server.
        assert!(is_valid_subject("foo\u{b}bar"));
        assert!(is_valid_subject("foo\u{a0}bar"));
    }

    #[test]
    fn literal_subjects() {
        // nats-server TestSubjectIsLiteral / TestSublistValidLiteralSubjects.
        for s in ["foo", "foo.bar", "foo*.bar", "foo*", "foo.**", "*bar", "foo.>>", ">bar"] {
            assert!(is_literal(s), "{s:?}");
            assert!(is_valid_publish_subject(s), "{s:?}");
        }
        for s in ["*", ">", "foo.*", "foo.>", "foo.*.>", "foo.*.bar", "foo.bar.>"] {
            assert!(!is_literal(s), "{s:?}");
            assert!(has_wildcard(s), "{s:?}");
            assert!(!is_valid_publish_subject(s), "{s:?}");
        }
        for s in [".foo", "foo.", "foo..bar", "", "a b"] {
            assert!(!is_valid_publish_subject(s), "{s:?}");
        }
    }

    #[test]
    fn matching() {
        // nats-server TestSublistMatchLiterals (literal, pattern).
        let cases = [
            ("foo", "foo", true),
            ("foo", "bar", false),
            ("foo", "*", true),
            ("foo", ">", true),
            ("foo.bar", ">", true),
            ("foo.bar", "foo.>", true),
            ("foo.bar", "bar.>", false),
            ("stats.test.22", "stats.>", true),
            ("stats.test.22", "stats.*.*", true),
            ("foo.bar", "foo", false),
            ("stats.test.foos", "stats.test.foos", true),
            ("stats.test.foos", "stats.test.foo", false),
            ("stats.test", "stats.test.*", false),
            ("stats.test.foos", "stats.*", false),
            ("stats.test.foos", "stats.*.*.foos", false),
            ("*bar", "*bar", true),
            ("foo*", "foo*", true),
            ("foo*bar", "foo*bar", true),
            ("foo.***.bar", "foo.***.bar", true),
            (">bar", ">bar", true),
            ("foo>", "foo>", true),
            ("foo>bar", "foo>bar", true),
            ("foo.>>>.bar", "foo.>>>.bar", true),
            // Extra cases.
            ("foo", "foo.>", false),
            ("foo.bar", "foo.*>", false),
            ("foo.bar", "*.*", true),
            ("foo.bar.baz", "*.bar.>", true),
            ("foo.bar", "foo*", false),
            ("foo.x", "foo.*-", false),
        ];
        for (lit, pat, want) in cases {
            assert_eq!(matches(pat, lit), want, "matches({pat:?}, {lit:?})");
        }
    }

    #[test]
    fn matching_rejects_malformed_input() {
        assert!(!matches("foo.>.bar", "foo.a.bar"));
        assert!(!matches("", ""));
        assert!(!matches(">", ""));
        for s in [".foo", "..foo", "foo..", "foo.", "foo..bar", "foo...bar"] {
            assert!(!matches(">", s), "{s:?}");
            assert!(!matches("*.>", s), "{s:?}");
        }
        // A wildcard token in the subject is matched only by a wildcard.
        assert!(matches("foo.*", "foo.*"));
        assert!(matches("foo.>", "foo.*"));
        assert!(matches("*.>", "foo.>"));
        assert!(!matches("foo.bar", "foo.*"));
    }

    #[test]
    fn collide() {
        // nats-server TestSublistSubjectCollide.
        assert!(!subjects_collide("foo.*", "foo.*.bar.>"));
        assert!(!subjects_collide("foo.*.bar.>", "foo.*"));
        assert!(subjects_collide("foo.*", "foo.foo"));
        assert!(subjects_collide("foo.*", "*.foo"));
        assert!(subjects_collide("foo.bar.>", "*.bar.foo"));
        // More.
        assert!(subjects_collide("foo", "foo"));
        assert!(!subjects_collide("foo", "bar"));
        assert!(!subjects_collide("foo", "foo.>"));
        assert!(subjects_collide("foo.>", "foo.bar.baz"));
        assert!(subjects_collide(">", "a.b.c"));
        assert!(subjects_collide("foo.>", "*.bar"));
        assert!(!subjects_collide("foo.*", "foo.*.*"));
        assert!(subjects_collide("foo.*.>", "foo.>"));
        assert!(!subjects_collide("foo.*", "bar.*"));
        assert!(!subjects_collide("foo.bar.>", "foo.*"));
        assert!(subjects_collide("a.*.c", "a.b.*"));
        assert!(!subjects_collide("a.*.c", "a.b.d"));
        // nats-server quirk, kept on purpose: `*x` counts as a wildcard when
        // both sides have wildcards.
        assert!(subjects_collide("a.*x.*", "a.y.*"));
        assert!(!subjects_collide("a.*x", "a.y"));
        // Invalid input never collides.
        assert!(!subjects_collide("foo..bar", "foo..bar"));
        assert!(!subjects_collide("", ">"));
    }

    #[test]
    fn subset() {
        // nats-server TestIsSubsetMatch.
        let cases = [
            ("foo.bar", "foo.bar", true),
            ("foo.*", ">", true),
            ("foo.*", "*.*", true),
            ("foo.*", "foo.*", true),
            ("foo.*", "foo.bar", false),
            ("foo.>", ">", true),
            ("foo.>", "*.>", true),
            ("foo.>", "foo.>", true),
            ("foo.>", "foo.bar", false),
            ("foo..bar", "foo.*", false),
            ("foo.*", "foo..bar", false),
            // More.
            ("foo", "foo.>", false),
            ("foo.bar", "foo.>", true),
            ("foo.*.baz", "foo.>", true),
            (">", "foo.>", false),
            (">", ">", true),
            ("foo.>", "foo.*", false),
            ("foo.*", "foo.*.*", false),
            ("*", "foo", false),
            ("a.b.c", "a.*.c", true),
            // nats-server quirk: a `*x` token in `of` matches any literal token.
            ("foo.bar", "foo.*x", true),
            ("foo.*", "foo.*x", false),
        ];
        for (s, of, want) in cases {
            assert_eq!(is_subset_match(s, of), want, "is_subset_match({s:?}, {of:?})");
        }
    }

    #[test]
    fn asset_names() {
        for s in ["ORDERS", "a", "my-stream_1", "ünï", &"x".repeat(255)] {
            assert!(is_valid_asset_name(s), "{s:?}");
        }
        for s in ["", "a.b", "a*", "a>", "a b", "a\tb", "a\rb", "a\nb", "a\u{c}b", "a\\b", "a/b", &"x".repeat(256)] {
            assert!(!is_valid_asset_name(s), "{s:?}");
        }
        // The limit is in bytes: 128 two-byte characters are 256 bytes.
        assert!(!is_valid_asset_name(&"é".repeat(128)));
        assert!(is_valid_asset_name(&"é".repeat(127)));
    }

    #[test]
    fn token_helpers() {
        assert_eq!(tokens("a.b.c").collect::<Vec<_>>(), vec!["a", "b", "c"]);
        assert_eq!(num_tokens("a.b.c"), 3);
        assert_eq!(num_tokens(""), 1);
        assert_eq!(tokens("a..b").collect::<Vec<_>>(), vec!["a", "", "b"]);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// A pattern of 1..=4 tokens from a small alphabet, `>` only last.
    fn pattern() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("*")], 0..4),
            prop_oneof![Just("a"), Just("b"), Just("*"), Just(">")],
        )
            .prop_map(|(head, last)| {
                let mut v = head;
                v.push(last);
                v.join(".")
            })
    }

    /// All literal subjects of 1..=5 tokens over {a, b, d}.
    fn all_literals() -> Vec<String> {
        let alphabet = ["a", "b", "d"];
        let mut out: Vec<String> = Vec::new();
        let mut level: Vec<String> = alphabet.iter().map(|s| s.to_string()).collect();
        for _ in 0..5 {
            out.extend(level.iter().cloned());
            let mut next = Vec::new();
            for p in &level {
                for t in alphabet {
                    next.push(format!("{p}.{t}"));
                }
            }
            level = next;
        }
        out
    }

    fn all_functions(a: &str, b: &str) {
        let _ = is_valid_subject(a);
        let _ = is_valid_publish_subject(a);
        let _ = is_literal(a);
        let _ = has_wildcard(a);
        let _ = is_valid_asset_name(a);
        let _ = num_tokens(a);
        let _ = tokens(a).count();
        let _ = matches(a, b);
        let _ = matches(b, a);
        let _ = matches_tokens(a, b);
        let _ = subjects_collide(a, b);
        let _ = is_subset_match(a, b);
        let _ = is_subset_match(b, a);
    }

    proptest! {
        #[test]
        fn no_panic_on_arbitrary_strings(a in any::<String>(), b in any::<String>()) {
            all_functions(&a, &b);
            // Validity and literal-ness are consistent.
            prop_assert_eq!(is_valid_publish_subject(&a), is_valid_subject(&a) && !has_wildcard(&a));
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(a in proptest::collection::vec(any::<u8>(), 0..48),
                                       b in proptest::collection::vec(any::<u8>(), 0..48)) {
            let a = String::from_utf8_lossy(&a);
            let b = String::from_utf8_lossy(&b);
            all_functions(&a, &b);
        }

        #[test]
        fn no_panic_on_subject_like_strings(a in "[ab.*> \t\\x00\\\\/é]{0,12}", b in "[ab.*>]{0,12}") {
            all_functions(&a, &b);
            all_functions(&b, &a);
            // A valid pattern always matches itself when read as a subject.
            if is_valid_subject(&b) {
                prop_assert!(matches(&b, &b));
                prop_assert!(subjects_collide(&b, &b));
                prop_assert!(is_subset_match(&b, &b));
            }
        }

        #[test]
        fn collide_is_exact_and_symmetric(a in pattern(), b in pattern()) {
            let c = subjects_collide(&a, &b);
            prop_assert_eq!(c, subjects_collide(&b, &a), "asymmetric for {} / {}", a, b);
            let witness = all_literals().into_iter().find(|s| matches(&a, s) && matches(&b, s));
            // Never a false negative (the property JetStream relies on) ...
            if let Some(w) = &witness {
                prop_assert!(c, "{} and {} both match {} but do not collide", a, b, w);
            }
            // ... and, for these plain tokens, no false positive either.
            prop_assert_eq!(c, witness.is_some(), "{} / {}", a, b);
        }

        #[test]
        fn subset_is_exact(a in pattern(), b in pattern()) {
            let lits = all_literals();
            let semantic = lits.iter().all(|s| !matches(&a, s) || matches(&b, s));
            prop_assert_eq!(is_subset_match(&a, &b), semantic, "is_subset_match({}, {})", a, b);
            // A subset that matches anything collides.
            if is_subset_match(&a, &b) {
                prop_assert!(subjects_collide(&a, &b));
            }
        }

        #[test]
        fn literal_matches_agree_with_equality(a in "[ab]{1,2}(\\.[ab]{1,2}){0,3}",
                                               b in "[ab]{1,2}(\\.[ab]{1,2}){0,3}") {
            prop_assert_eq!(matches(&a, &b), a == b);
            prop_assert_eq!(subjects_collide(&a, &b), a == b);
        }
    }
}
