package automations

import (
	"net/netip"
	"strings"
	"time"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

// maxTimeLimit is the largest time limit a policy may set (spec §2.8).
const maxTimeLimit = 120 * time.Second

// rule is one allow/deny (or enabled/disabled) rule.
type rule struct {
	allow bool
	val   *value
}

// policy is a compiled policy KATA (spec §6).
type policy struct {
	commands  map[string][]rule
	timeLimit time.Duration // 0 when the policy does not set one
	// httpAllow are networks http.request may reach even where the guard
	// refuses them (settings: http_allow_networks@list:).
	httpAllow []netip.Prefix
}

// compilePolicy compiles the policy document into p, reporting problems.
func (c *compiler) compilePolicy(root *kata.Node) *policy {
	vc := &valueCompiler{env: c.env, source: "policy", diags: &c.diags}
	p := &policy{commands: map[string][]rule{}}
	for _, top := range root.Children {
		switch top.Key {
		case "commands":
			if top.Kind != kata.Object {
				vc.errorf(top.Pos, "`commands:` must hold one key per command")
				continue
			}
			for _, cmd := range top.Children {
				if len(cmd.Annotations) > 0 {
					vc.errorf(cmd.Pos, "annotations are not allowed on policy command keys (`%s@%s:`)", cmd.Key, strings.Join(cmd.Annotations, ","))
				}
				// Cerb's policy schema names exactly the commands the
				// policy checks; `all:` is refused too (Cerb 10.4.10:
				// "Key `commands:all:` is unknown"), though its runtime
				// would read it.
				switch d := lookupCommand(cmd.Key); {
				case cmd.Key == "all":
					vc.errorf(cmd.Pos, "`commands:all:` is refused by Cerb 10.4 when saved; give each command its rules")
				case c.extension[cmd.Key]:
				case d == nil:
					vc.errorf(cmd.Pos, "Unknown command `%s:` in policy", cmd.Key)
				case !d.Policy:
					vc.errorf(cmd.Pos, "`commands:%s:` is not a command the policy checks (Cerb refuses it when saved); only side-effect commands such as http.request are", cmd.Key)
				}
				p.commands[cmd.Key] = c.compileRules(vc, cmd, "allow", "deny")
			}
		case "callers":
			// Interactions only; webhooks have no callers. Accepted as is.
		case "settings":
			for _, s := range top.Children {
				if s.Key == "http_allow_networks" {
					p.httpAllow = append(p.httpAllow, compileNetworks(vc, s)...)
					continue
				}
				if s.Key != "time_limit_ms" {
					vc.errorf(s.Pos, "Unknown setting `%s:` in policy; expected `time_limit_ms:` or `http_allow_networks:`", s.Key)
					continue
				}
				vc.annotations(s)
				txt := strings.TrimSpace(s.Value)
				if s.Kind == kata.Object || !isNumeric(txt) {
					vc.errorf(valuePos(s), "`time_limit_ms:` must be a number of milliseconds")
					continue
				}
				ms := intval(txt)
				if ms < 0 {
					ms = 0
				}
				if ms > maxTimeLimit.Milliseconds() {
					ms = maxTimeLimit.Milliseconds()
				}
				p.timeLimit = time.Duration(ms) * time.Millisecond
			}
		default:
			vc.errorf(top.Pos, "Unexpected key `%s:` in policy; expected `commands:`, `callers:` or `settings:`", top.Key)
		}
	}
	return p
}

// compileRules compiles the allow/deny (or enabled/disabled) rules under
// n. yes names the rule type that allows.
func (c *compiler) compileRules(vc *valueCompiler, n *kata.Node, yes, no string) []rule {
	var rules []rule
	for _, r := range n.Children {
		t := r.Type()
		if t != yes && t != no {
			vc.errorf(r.Pos, "Unexpected rule `%s:` under `%s:`; expected `%s:` or `%s:`", r.Key, n.Key, yes, no)
			continue
		}
		if r.Kind == kata.Object {
			vc.errorf(r.Pos, "rule `%s:` must have a value", r.Key)
			continue
		}
		rules = append(rules, rule{allow: t == yes, val: vc.compile(r, true)})
	}
	return rules
}

// valuePos is the position of n's value, or of its key when it has none.
func valuePos(n *kata.Node) kata.Pos {
	if n.ValuePos.Line > 0 {
		return n.ValuePos
	}
	return n.Pos
}

// decide evaluates rules in order; the first true rule decides. found is
// false when no rule was true.
func decide(rules []rule, env *evalEnv) (allow, found bool) {
	for _, r := range rules {
		v, _, err := r.val.eval(env)
		if err != nil {
			continue
		}
		if toBool(v) {
			return r.allow, true
		}
	}
	return false, false
}

// allows reports whether the policy lets command name run, given the
// command dictionary {node:{id,type}, inputs, output}.
func (p *policy) allows(name string, data *dict.Map, env *evalEnv) bool {
	if p == nil {
		return false
	}
	e := *env
	e.data = data
	e.generic = true
	e.log = nil
	allow, _ := decide(p.commands[name], &e)
	return allow
}

// compileNetworks compiles settings: http_allow_networks: — addresses or
// CIDR prefixes, one per line (@list) or separated by commas (@csv), or a
// single inline value. They must be fixed: the guard's exceptions are not
// decided per request.
func compileNetworks(vc *valueCompiler, s *kata.Node) []netip.Prefix {
	vc.annotations(s)
	if s.Kind == kata.Object {
		vc.errorf(s.Pos, "`http_allow_networks:` must list addresses or CIDR prefixes (use `http_allow_networks@list:`)")
		return nil
	}
	if templates.HasMarkup(s.Value) {
		vc.errorf(valuePos(s), "`http_allow_networks:` must be fixed addresses, without placeholders")
		return nil
	}
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s.Value, func(r rune) bool { return r == '\n' || r == ',' }) {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if pfx, err := netip.ParsePrefix(f); err == nil {
			out = append(out, pfx.Masked())
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		vc.errorf(valuePos(s), "`http_allow_networks:` %q is not an address or CIDR prefix", f)
	}
	return out
}
