package templates

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
	xunicode "golang.org/x/text/encoding/unicode"
	"golang.org/x/text/language"

	"github.com/hookhost/hookhost/templates/dict"
)

// Text filters with PHP's semantics: mbstring's full case mapping (ß is SS
// in upper case), mb_convert_case's title case, and trim's byte masks.

// text gives the text of a filter's input: PHP's string functions refuse an
// array (a TypeError), and take other values as their text.
func text(in any) (string, error) {
	switch in.(type) {
	case *dict.Map, []any:
		return "", fmt.Errorf("expects text, got a %s", dict.TypeName(in))
	}
	return toStr(in), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// upperText is mb_strtoupper: the full case mapping (ß gives SS, ﬁ FI).
func upperText(s string) string {
	if isASCII(s) {
		return strings.ToUpper(s)
	}
	return cases.Upper(language.Und).String(s)
}

// lowerText is mb_strtolower: the full case mapping (İ gives i̇), without
// the final sigma rule (PHP 8.2 has none).
func lowerText(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	return cases.Lower(language.Und, cases.HandleFinalSigma(false)).String(s)
}

func fUpper(in any, _ ...any) (any, error) {
	s, err := text(in)
	if err != nil {
		return nil, err
	}
	return upperText(s), nil
}

func fLower(in any, _ ...any) (any, error) {
	s, err := text(in)
	if err != nil {
		return nil, err
	}
	return lowerText(s), nil
}

// fCapitalize is Twig's capitalize: the first character upper-cased, the
// rest lower-cased.
func fCapitalize(in any, _ ...any) (any, error) {
	s, err := text(in)
	if err != nil {
		return nil, err
	}
	_, n := utf8.DecodeRuneInString(s)
	return upperText(s[:n]) + lowerText(s[n:]), nil
}

// fTitle is mb_convert_case(MB_CASE_TITLE) as PHP 8 does it: a character
// is title-cased unless it follows a cased letter (case-ignorable
// characters such as combining marks and apostrophes in between), and
// lower-cased otherwise.
func fTitle(in any, _ ...any) (any, error) {
	s, err := text(in)
	if err != nil {
		return nil, err
	}
	if isASCII(s) {
		b := []byte(s)
		title := false
		for i, c := range b {
			switch {
			case c >= 'a' && c <= 'z':
				if !title {
					b[i] = c - 32
				}
				title = true
			case c >= 'A' && c <= 'Z':
				if title {
					b[i] = c + 32
				}
				title = true
			case c == '\'' || c == '.' || c == ':' || c == '^' || c == '`':
				// case-ignorable: the mode is kept
			default:
				title = false
			}
		}
		return string(b), nil
	}
	var b strings.Builder
	b.Grow(len(s))
	var tc, lc cases.Caser
	title := false
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && !isCased(r):
			b.WriteRune(r)
		case title:
			if lc == (cases.Caser{}) {
				lc = cases.Lower(language.Und, cases.HandleFinalSigma(false))
			}
			b.WriteString(lc.String(string(r)))
		default:
			if tc == (cases.Caser{}) {
				tc = cases.Title(language.Und, cases.NoLower)
			}
			b.WriteString(tc.String(string(r)))
		}
		if !isCaseIgnorable(r) {
			title = isCased(r)
		}
	}
	return b.String(), nil
}

// isCased is Unicode's Cased property.
func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// isCaseIgnorable is Unicode's Case_Ignorable property: marks, format
// characters, modifiers, and the word-internal punctuation of Word_Break
// MidLetter, MidNumLet and Single_Quote.
func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// defaultTrimChars are the characters PHP's trim removes by default.
const defaultTrimChars = " \t\n\r\x00\x0B"

// trimMask is PHP's character mask of trim: bytes, with "a..z" ranges.
func trimMask(chars string) [256]bool {
	var m [256]bool
	for i := 0; i < len(chars); i++ {
		c := chars[i]
		if i+3 < len(chars) && chars[i+1] == '.' && chars[i+2] == '.' && chars[i+3] >= c {
			for x := int(c); x <= int(chars[i+3]); x++ {
				m[x] = true
			}
			i += 3
			continue
		}
		m[c] = true
	}
	return m
}

// phpTrim trims the bytes of mask from the left, the right or both ends.
func phpTrim(s string, mask [256]bool, left, right bool) string {
	i, j := 0, len(s)
	if left {
		for i < j && mask[s[i]] {
			i++
		}
	}
	if right {
		for j > i && mask[s[j-1]] {
			j--
		}
	}
	return s[i:j]
}

// fTrim is trim(chars, side) with side "both", "left" or "right"; the
// characters are bytes, as in PHP.
func fTrim(in any, args ...any) (any, error) {
	s, err := text(in)
	if err != nil {
		return nil, err
	}
	chars := defaultTrimChars
	if c := arg(args, 0, nil); c != nil {
		chars = toStr(c)
	}
	mask := trimMask(chars)
	switch side := toStr(arg(args, 1, "both")); side {
	case "left":
		return phpTrim(s, mask, true, false), nil
	case "right":
		return phpTrim(s, mask, false, true), nil
	case "both":
		return phpTrim(s, mask, true, true), nil
	default:
		return nil, fmt.Errorf(`trimming side must be "left", "right" or "both", not %q`, side)
	}
}

var reBetweenTags = regexp.MustCompile(`>[ \t\n\v\f\r]+<`)

// fSpaceless is Twig's spaceless: the whitespace between HTML tags
// removed, and the text trimmed.
func fSpaceless(in any, _ ...any) (any, error) {
	s, err := text(in)
	if err != nil {
		return nil, err
	}
	s = reBetweenTags.ReplaceAllString(s, "><")
	return phpTrim(s, trimMask(defaultTrimChars), true, true), nil
}

// fConvertEncoding is Twig's convert_encoding(to, from): PHP's iconv. Text
// that is not valid in from, or has characters to cannot hold, gives false
// (//IGNORE drops them, //TRANSLIT writes "?").
func fConvertEncoding(in any, args ...any) (any, error) {
	s, err := text(in)
	if err != nil {
		return nil, err
	}
	to, toMode, _ := strings.Cut(strings.ToUpper(toStr(arg(args, 0, ""))), "//")
	from, _, _ := strings.Cut(strings.ToUpper(toStr(arg(args, 1, ""))), "//")
	dec, err := charset(from)
	if err != nil {
		return nil, err
	}
	enc, err := charset(to)
	if err != nil {
		return nil, err
	}
	var u string
	if dec == nil {
		if !utf8.ValidString(s) {
			return false, nil
		}
		u = s
	} else if u, err = dec.NewDecoder().String(s); err != nil {
		return false, nil
	}
	if enc == nil {
		return u, nil
	}
	e := enc.NewEncoder()
	if out, err := e.String(u); err == nil {
		return out, nil
	}
	if toMode != "IGNORE" && toMode != "TRANSLIT" {
		return false, nil
	}
	var b strings.Builder
	for _, r := range u {
		out, err := e.String(string(r))
		if err != nil {
			if toMode == "TRANSLIT" {
				b.WriteByte('?')
			}
			continue
		}
		b.WriteString(out)
	}
	return b.String(), nil
}

// charset finds an IANA character set; nil is UTF-8.
func charset(name string) (encoding.Encoding, error) {
	switch name {
	case "UTF-8", "UTF8":
		return nil, nil
	case "ASCII":
		name = "US-ASCII"
	case "LATIN1":
		name = "ISO-8859-1"
	case "CP1252":
		name = "WINDOWS-1252"
	}
	e, err := ianaindex.IANA.Encoding(name)
	if err != nil || e == nil {
		return nil, fmt.Errorf("unknown character set %q", name)
	}
	if e == xunicode.UTF8 {
		return nil, nil
	}
	return e, nil
}
