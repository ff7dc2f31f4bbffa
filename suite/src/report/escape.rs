//! Escaping of untrusted text for each output format.
//!
//! Everything a Tool sends (bodies, headers, reason lines quoting them) ends
//! up in reports that people open in browsers, CI dashboards and pull
//! requests. A hostile Tool must not be able to inject markup, scripts or
//! links through them, nor to make a file malformed. Each writer therefore
//! passes every piece of text through the function for its context here, and
//! nowhere else builds markup from data.
//!
//! Control characters are made visible (`\x01`) rather than dropped, so the
//! evidence still shows that they were sent.

/// Characters longer than this are cut in single-line contexts.
pub const MAX_INLINE_CHARS: usize = 300;

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn push_visible(out: &mut String, c: char) {
    let n = u32::from(c);
    if n <= 0xFF {
        out.push_str(&format!("\\x{n:02x}"));
    } else {
        out.push_str(&format!("\\u{{{n:x}}}"));
    }
}

/// Whether a character is shown as an escape rather than written: XML-invalid
/// characters, other C0/C1 controls and DEL.
fn needs_visible_escape(c: char) -> bool {
    !is_xml_char(c) || matches!(c, '\u{7f}'..='\u{9f}')
}

/// Writes `s` with each character that `entity` names replaced by its entity,
/// and the characters no context may carry made visible.
fn escape_with(s: &str, entity: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match entity(c) {
            Some(e) => out.push_str(e),
            None if needs_visible_escape(c) => push_visible(&mut out, c),
            None => out.push(c),
        }
    }
    out
}

/// Text for an HTML element body or a double- or single-quoted attribute.
pub fn html(s: &str) -> String {
    escape_with(s, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        '`' => Some("&#96;"),
        '\r' => Some("\\r"),
        _ => None,
    })
}

/// Text for XML character data.
pub fn xml_text(s: &str) -> String {
    escape_with(s, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '\r' => Some("&#13;"),
        _ => None,
    })
}

/// Text for a double-quoted XML attribute; line breaks and tabs are kept as
/// character references so attribute normalisation does not eat them.
pub fn xml_attr(s: &str) -> String {
    escape_with(s, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&apos;"),
        '\n' => Some("&#10;"),
        '\r' => Some("&#13;"),
        '\t' => Some("&#9;"),
        _ => None,
    })
}

/// Text for one Markdown table cell or list item: one line, at most
/// [`MAX_INLINE_CHARS`] characters, every character with a Markdown or HTML
/// meaning escaped, so it renders as the literal text.
pub fn markdown_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut leading_digits = true;
    let chars: Vec<char> = s.chars().collect();
    for (count, &c) in chars.iter().enumerate() {
        if count == MAX_INLINE_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            // Block syntax only matters at the start of the text.
            '#' | '+' | '-' | '=' if count == 0 => {
                out.push('\\');
                out.push(c);
            }
            // `1. ` or `1) ` would start an ordered list.
            '.' | ')'
                if leading_digits
                    && count > 0
                    && chars.get(count + 1).is_none_or(|n| n.is_whitespace()) =>
            {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if needs_visible_escape(c) => {
                out.push('\\');
                push_visible(&mut out, c);
            }
            c => out.push(c),
        }
        leading_digits = leading_digits && c.is_ascii_digit();
    }
    out
}

/// Cuts `s` to at most `max` characters, saying so at the end.
pub fn truncate(s: &str, max: usize, note: &str) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((cut, _)) => format!(
            "{}\n[{} more characters {note}]",
            &s[..cut],
            s[cut..].chars().count()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_neutralises_markup_and_controls() {
        let s = html("<script>a&b\"'`\u{1}\u{7f}\u{85}</script>");
        assert_eq!(
            s,
            "&lt;script&gt;a&amp;b&quot;&#39;&#96;\\x01\\x7f\\x85&lt;/script&gt;"
        );
    }

    #[test]
    fn xml_keeps_only_xml_characters() {
        assert_eq!(xml_text("a\u{0}b\u{fffe}]]>"), "a\\x00b\\u{fffe}]]&gt;");
        assert_eq!(xml_attr("x\n\"y\"\t<"), "x&#10;&quot;y&quot;&#9;&lt;");
    }

    #[test]
    fn markdown_cells_stay_literal() {
        assert_eq!(
            markdown_inline("a|b\n[x](javascript:1)"),
            "a\\|b \\[x\\](javascript:1)"
        );
        assert_eq!(markdown_inline("# h"), "\\# h");
        assert_eq!(markdown_inline("12. x-y"), "12\\. x-y");
        assert_eq!(markdown_inline("0.1.0"), "0.1.0");
        assert_eq!(markdown_inline("<b>*"), "&lt;b&gt;\\*");
        assert_eq!(
            markdown_inline(&"x".repeat(400)).chars().count(),
            MAX_INLINE_CHARS + 1
        );
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("héllo", 10, "cut"), "héllo");
        assert_eq!(truncate("héllo", 2, "cut"), "hé\n[3 more characters cut]");
    }
}
