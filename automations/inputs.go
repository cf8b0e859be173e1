package automations

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates/dict"
)

// inputDecl is one declaration of the script's inputs: block (spec §2.7).
type inputDecl struct {
	kind     string // text, array, record, records
	name     string
	required bool
	def      *value
	typ      string // text type
}

func textInputType(t string) bool {
	switch t {
	case "bool", "date", "decimal", "email", "freeform", "geopoint", "ip", "ipv4", "ipv6",
		"number", "record_type", "timestamp", "uri", "url":
		return true
	}
	return false
}

// compileInputs compiles the top-level inputs: block.
func (c *compiler) compileInputs(top *kata.Node) []*inputDecl {
	if top.Kind != kata.Object {
		c.errorf(top.Pos, "`inputs:` must hold declarations such as `text/name:`")
		return nil
	}
	var decls []*inputDecl
	for _, d := range top.Children {
		kind, name := d.Type(), d.Name()
		switch kind {
		case "text", "array", "record", "records":
		default:
			c.errorf(d.Pos, "Unknown input type `%s:`; expected `text/`, `array/`, `record/` or `records/`", d.Key)
			continue
		}
		if name == "" {
			c.errorf(d.Pos, "input `%s:` needs a name (`%s/<name>:`)", d.Key, kind)
			continue
		}
		if len(d.Annotations) > 0 {
			c.errorf(d.Pos, "annotations are not allowed on input declarations (`%s:`)", d.Key)
		}
		decl := &inputDecl{kind: kind, name: name}
		if d.Kind != kata.Object {
			if strings.TrimSpace(d.Value) != "" {
				c.errorf(d.Pos, "input `%s:` must hold its options (required, default, type)", d.Key)
			}
			decls = append(decls, decl)
			continue
		}
		for _, o := range d.Children {
			switch o.Key {
			case "required":
				decl.required = toBool(o.Value)
				c.vc.annotations(o)
			case "default":
				decl.def = c.vc.compile(o, false)
			case "type":
				if kind != "text" {
					c.errorf(o.Pos, "`type:` is only allowed on text inputs")
					continue
				}
				decl.typ = strings.TrimSpace(o.Value)
				if !textInputType(decl.typ) {
					c.errorf(valuePos(o), "Unknown text input type `%s`", decl.typ)
				}
			case "record_type", "description", "snippet", "type_options", "expand":
				if o.Key == "record_type" && kind != "record" && kind != "records" {
					c.errorf(o.Pos, "`record_type:` is only allowed on record inputs")
				}
			default:
				c.errorf(o.Pos, "Unexpected key `%s:` in input `%s:`; expected `required:`, `default:` or `type:`", o.Key, d.Key)
			}
		}
		decls = append(decls, decl)
	}
	return decls
}

// validateInputs checks the caller's inputs against the declarations as
// Cerb's _validateInputs does and returns the inputs the script sees: the
// caller's keys in the caller's order, then the defaults of the missing
// ones. A text input keeps the value given (text; a number or list is
// refused), except type: bool (converted to a boolean); a missing number,
// decimal or date input reads 0, 0.0 or false, as in Cerb.
func (r *runner) validateInputs(given *dict.Map) (*dict.Map, error) {
	decls := r.p.inputs
	out := dict.New(given.Len() + len(decls))
	var unknown []string
	given.Range(func(k string, v any) bool {
		out.Set(k, v)
		if !slices.ContainsFunc(decls, func(d *inputDecl) bool { return d.name == k }) {
			unknown = append(unknown, k)
		}
		return true
	})
	if len(unknown) > 0 {
		return nil, fmt.Errorf("Unknown inputs: %s", strings.Join(unknown, ", "))
	}
	for _, d := range decls {
		v := out.Value(d.name)
		var def any
		if d.def != nil {
			dv, _, err := d.def.eval(&r.env)
			if err != nil {
				return nil, err
			}
			def = dv
		}
		if d.kind == "text" && d.typ != "" {
			if b, ok := v.(bool); ok {
				v = "no"
				if b {
					v = "yes"
				}
			}
			if v == "" {
				v = nil
			}
			switch d.typ {
			case "bool":
				if v == nil && d.def != nil {
					v = def
				}
				if v != nil {
					v = toBool(v)
					out.Set(d.name, v)
				}
			case "date":
				ts, ok := timestampOrDate(toString(v), r.now())
				if ok {
					out.Set(d.name, ts)
				} else {
					out.Set(d.name, false)
				}
			case "decimal":
				out.Set(d.name, floatval(v))
			case "number":
				out.Set(d.name, intval(v))
			}
		}
		if v == nil && d.def != nil {
			v = def
			out.Set(d.name, v)
		}
		if !d.required && v == nil {
			continue
		}
		if err := checkInput(d, v, r.now); err != nil {
			return nil, err
		}
		out.Set(d.name, v)
	}
	return out, nil
}

// checkInput validates a given (or required) input as Cerb's validation
// service does, with its messages.
func checkInput(d *inputDecl, v any, now func() time.Time) error {
	label := "inputs:" + d.name
	bad := func(format string, args ...any) error {
		return fmt.Errorf("'%s' %s", label, fmt.Sprintf(format, args...))
	}
	blank := v == nil || v == ""
	switch t := v.(type) {
	case []any:
		blank = len(t) == 0
	case *dict.Map:
		blank = t.Len() == 0
	}
	if d.required && blank {
		return bad("must not be blank.")
	}
	if v == nil {
		return nil
	}
	switch d.kind {
	case "array":
		switch v.(type) {
		case []any, *dict.Map:
			return nil
		}
		return bad("must be an array.")
	case "record", "records":
		return nil
	}
	s, isText := v.(string)
	switch d.typ {
	case "bool":
		if _, ok := v.(bool); !ok {
			return bad("must be a boolean.")
		}
		return nil
	case "number", "timestamp", "decimal":
		if !isText && !isNumber(v) || isText && !isNumeric(s) {
			what := "a number"
			if d.typ == "decimal" {
				what = "a decimal"
			}
			return bad("must be %s (%s: %s).", what, phpType(v), toJSON(v))
		}
		if d.typ == "timestamp" {
			if n := floatval(v); n < 0 {
				return bad("must be >= 0 (%d)", intval(v))
			} else if n > 4294967295 {
				return bad("must be <= 4294967295 (%d)", intval(v))
			}
		}
		return nil
	case "url":
		if !isText && !isNumber(v) {
			return bad("must be a string (%s).", phpType(v))
		}
		if u, err := url.Parse(toString(v)); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("is not a valid URL. It must start with http:// or https://")
		}
		return nil
	}
	// The other text inputs are text fields: anything else is refused.
	if !isText {
		return bad("is not a string.")
	}
	switch d.typ {
	case "date":
		if _, ok := timestampOrDate(s, now()); s != "" && !ok {
			return bad("(%s) is not a valid date string. Format like: tomorrow 8am", s)
		}
	case "email":
		if _, err := mail.ParseAddress(s); err != nil {
			return bad("is invalid. It must be a properly formatted email address.")
		}
	case "ip":
		if net.ParseIP(s) == nil {
			return bad("(%s) is not a valid IPv4 or IPv6 address. Format like: 1.2.3.4", s)
		}
	case "ipv4":
		if ip := net.ParseIP(s); ip == nil || ip.To4() == nil {
			return bad("(%s) is not a valid IPv4 address. Format like: 1.2.3.4", s)
		}
	case "ipv6":
		if ip := net.ParseIP(s); ip == nil || ip.To4() != nil {
			return bad("(%s) is not a valid IPv6 address. Format like: a1b2:c3d4:e5f6:a1b2:c3d4:e5f6:a1b2:c3d4", s)
		}
	case "uri":
		if u, err := url.Parse(s); err != nil || u.Scheme == "" {
			return bad("is not a valid URI.")
		}
	}
	return nil
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, int, float64:
		return true
	}
	return false
}

// toJSON encodes v for an error message.
func toJSON(v any) string {
	var b strings.Builder
	if err := dict.Encode(&b, v, ""); err != nil {
		return ""
	}
	return b.String()
}
