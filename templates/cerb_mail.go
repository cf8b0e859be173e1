package templates

import (
	"net/mail"
	"regexp"
	"strings"

	"github.com/hookhost/hookhost/templates/dict"
)

// fParseEmails is Cerb's parse_emails: CerberusMail::parseRfcAddresses,
// a dictionary of the valid addresses of an RFC 5322 list, keyed by
// address, each with full_email, email, mailbox, host and personal. A
// value that is not a string gives "".
func fParseEmails(in any, _ ...any) (any, error) {
	s, ok := in.(string)
	if !ok {
		return "", nil
	}
	return parseRFCAddresses(s), nil
}

var formmailAddress = regexp.MustCompile(`^(.*?@.*?) \((.*?)\)$`)

// parseRFCAddresses is a port of CerberusMail::parseRfcAddresses (Cerb's
// api/app/Mail.php): a small state machine over bytes (quotes, angle
// brackets, ',' and ';' ending an address).
func parseRFCAddresses(s string) *dict.Map {
	s = strings.TrimRight(s, ",;") + ";"
	out := dict.New(2)
	var state byte
	states := []byte{0}
	var personal, email strings.Builder
	pop := func() {
		states = states[:len(states)-1]
		state = states[len(states)-1]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch state {
		case '"':
			switch c {
			case '\\':
				personal.WriteByte(c)
				if i+1 < len(s) {
					i++
					personal.WriteByte(s[i])
				}
			case '"':
				personal.WriteByte(c)
				pop()
			default:
				personal.WriteByte(c)
			}
		case '<':
			if c == '>' {
				pop()
			} else {
				email.WriteByte(c)
			}
		default:
			switch c {
			case '"':
				personal.WriteByte(c)
				state = '"'
				states = append(states, state)
			case '<':
				state = '<'
				states = append(states, state)
			case ';', ',':
				p, e := strings.TrimSpace(personal.String()), strings.TrimSpace(email.String())
				if e == "" {
					if m := formmailAddress.FindStringSubmatch(p); m != nil {
						e, p = m[1], m[2]
					} else {
						e, p = p, ""
					}
				} else {
					if strings.HasPrefix(p, `"`) {
						r := []rune(p)
						if len(r) >= 2 {
							p = string(r[1 : len(r)-1])
						} else {
							p = ""
						}
					}
					p = strings.ReplaceAll(strings.TrimSpace(p), `\"`, `"`)
				}
				if e != "" {
					mailbox, host, _ := strings.Cut(e, "@")
					if mailbox != "" && host != "" && strings.Contains(e, "@") && validRFCAddress(e) {
						m := dict.New(5)
						m.Set("full_email", writeRFCAddress(e, p))
						m.Set("email", e)
						m.Set("mailbox", mailbox)
						m.Set("host", host)
						m.Set("personal", p)
						out.Set(e, m)
					}
				}
				personal.Reset()
				email.Reset()
			default:
				personal.WriteByte(c)
			}
		}
	}
	return out
}

// validRFCAddress stands for egulias/EmailValidator's RFCValidation.
func validRFCAddress(e string) bool {
	a, err := mail.ParseAddress(e)
	return err == nil && a.Address == e
}

// writeRFCAddress is CerberusMail::writeRfcAddress.
func writeRFCAddress(email, personal string) string {
	if personal == "" {
		return email
	}
	quoted := strings.Contains(personal, ".")
	if strings.Contains(personal, `"`) {
		quoted = true
		personal = strings.ReplaceAll(personal, `"`, `\"`)
	}
	if quoted {
		personal = `"` + personal + `"`
	}
	return personal + " <" + email + ">"
}
