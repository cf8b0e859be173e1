package automations

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"sort"
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

// validateInputs checks the caller's inputs against the declarations and
// returns the inputs the script sees.
func (r *runner) validateInputs(given *dict.Map) (*dict.Map, error) {
	decls := r.p.inputs
	var unknown []string
	given.Range(func(k string, _ any) bool {
		found := false
		for _, d := range decls {
			if d.name == k {
				found = true
				break
			}
		}
		if !found {
			unknown = append(unknown, k)
		}
		return true
	})
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("Unknown inputs: %s", strings.Join(unknown, ", "))
	}
	out := dict.New(len(decls))
	for _, d := range decls {
		v, ok := given.Get(d.name)
		if !ok || v == nil || v == "" {
			if d.def != nil {
				dv, _, err := d.def.eval(&r.env)
				if err != nil {
					return nil, err
				}
				out.Set(d.name, dv)
				continue
			}
			if d.required {
				return nil, fmt.Errorf("`inputs.%s` is required.", d.name)
			}
			if ok {
				out.Set(d.name, v)
			}
			continue
		}
		cv, err := convertInput(d, v, r.now)
		if err != nil {
			return nil, err
		}
		out.Set(d.name, cv)
	}
	return out, nil
}

// convertInput validates v against declaration d.
func convertInput(d *inputDecl, v any, now func() time.Time) (any, error) {
	bad := func(what string) error { return fmt.Errorf("`inputs.%s` must be %s.", d.name, what) }
	switch d.kind {
	case "array":
		switch v.(type) {
		case []any, *dict.Map:
			return v, nil
		}
		return nil, bad("an array")
	case "record", "records":
		return v, nil
	}
	if d.typ == "bool" {
		return toBool(v), nil
	}
	switch v.(type) {
	case []any, *dict.Map:
		return nil, bad("text")
	}
	s := toString(v)
	switch d.typ {
	case "number", "timestamp":
		if !isNumeric(s) {
			return nil, bad("a number")
		}
		if _, _, isInt := numericPrefix(s); isInt {
			return intval(s), nil
		}
		return floatval(s), nil
	case "decimal":
		if !isNumeric(s) {
			return nil, bad("a decimal number")
		}
		return floatval(s), nil
	case "date":
		ts, ok := timestampOrDate(s, now())
		if !ok {
			return nil, bad("a date")
		}
		return ts, nil
	case "email":
		if _, err := mail.ParseAddress(s); err != nil {
			return nil, bad("an email address")
		}
	case "ip":
		if net.ParseIP(s) == nil {
			return nil, bad("an IP address")
		}
	case "ipv4":
		if ip := net.ParseIP(s); ip == nil || ip.To4() == nil {
			return nil, bad("an IPv4 address")
		}
	case "ipv6":
		if ip := net.ParseIP(s); ip == nil || ip.To4() != nil {
			return nil, bad("an IPv6 address")
		}
	case "url", "uri":
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || (d.typ == "url" && u.Host == "") {
			return nil, bad("a URL")
		}
	}
	return v, nil
}
