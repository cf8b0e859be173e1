package automations_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

// compileError compiles src and returns the error.
func compileError(src automations.Source, opts automations.Options) error {
	if opts.Templates == nil {
		opts.Templates = templates.New()
	}
	_, err := automations.Compile(src, opts)
	return err
}

// actionScript is a script that calls the action command c once with every
// required key (and output: as "out").
func actionScript(c automations.CommandInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "start:\n  %s:\n", c.Name)
	if c.URI {
		b.WriteString("    uri: cerb:automation:x\n")
	}
	b.WriteString("    inputs:\n")
	for _, p := range c.Inputs {
		if p.Required {
			fmt.Fprintf(&b, "      %s: x\n", p.Name)
		}
	}
	b.WriteString("    output: out\n")
	return b.String()
}

func TestCommands(t *testing.T) {
	t.Parallel()

	t.Run("EveryEntryIsDescribed", func(t *testing.T) {
		t.Parallel()
		for _, c := range automations.Commands() {
			require.NotEmpty(t, c.Summary, c.Name)
			require.Contains(t, []automations.CommandForm{automations.FormFlow, automations.FormValue, automations.FormAction}, c.Form, c.Name)
			for _, p := range append(c.Keys, c.Inputs...) {
				require.NotEmpty(t, p.Name, c.Name)
				if p.Refused == "" {
					require.NotEmpty(t, p.Summary, "%s %s", c.Name, p.Name)
				}
				if p.Refused == "" && !p.Ignored {
					require.NotEmpty(t, p.Type, "%s %s", c.Name, p.Name)
				}
			}
		}
	})

	t.Run("NamesAreUnique", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		for _, c := range automations.Commands() {
			require.False(t, seen[c.Name], "duplicate %q", c.Name)
			seen[c.Name] = true
		}
	})

	t.Run("PolicyChecksCerbsList", func(t *testing.T) {
		t.Parallel()
		// Cerb's side-effect commands (spec §2.4, §6).
		cerbPolicyCommands := []string{
			"api.command", "data.query", "decrypt.pgp", "email.parse", "encrypt.pgp",
			"file.read", "file.write", "function", "http.request", "metric.increment",
			"queue.pop", "queue.push",
			"record.create", "record.delete", "record.get", "record.search", "record.update", "record.upsert",
			"storage.delete", "storage.get", "storage.set",
		}
		// A command hookhost adds may be gated too; Cerb's must all be.
		var gated []string
		for _, c := range automations.Commands() {
			if c.Policy {
				gated = append(gated, c.Name)
			}
		}
		require.Subset(t, gated, cerbPolicyCommands)
		for _, name := range []string{"return", "error", "await", "set", "var.set", "var.push", "var.unset", "log", "kata.parse"} {
			require.NotContains(t, gated, name, "Cerb never gates %s", name)
		}
	})

	t.Run("ResultIsACopy", func(t *testing.T) {
		t.Parallel()
		cs := automations.Commands()
		i := slices.IndexFunc(cs, func(c automations.CommandInfo) bool { return c.Name == "http.request" })
		require.GreaterOrEqual(t, i, 0)
		cs[i].Inputs[0].Name = "changed"
		cs[i].Policy = false
		again := automations.Commands()
		require.Equal(t, "url", again[i].Inputs[0].Name)
		require.True(t, again[i].Policy)
	})
}

// TestCommandTable checks, for every entry of the command table, that the
// engine does what the entry says.
func TestCommandTable(t *testing.T) {
	t.Parallel()
	allowAll := func(name string) string { return "commands:\n  " + name + ":\n    allow: yes\n" }
	for _, c := range automations.Commands() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			// A policy may name exactly the commands it checks (Cerb's
			// policy schema).
			policyErr := compileError(automations.Source{Script: "start:\n  return:\n", Policy: "commands:\n  " + c.Name + ":\n    deny: yes\n"}, automations.Options{})
			if c.Policy {
				require.NoError(t, policyErr)
			} else {
				require.ErrorContains(t, policyErr, "`commands:"+c.Name+":` is not a command the policy checks")
			}
			if !c.Supported {
				err := compileError(automations.Source{Script: "start:\n  " + c.Name + ":\n    output: x\n"}, automations.Options{})
				if c.Name == "log.alert" {
					require.ErrorContains(t, err, "`log.alert:` is refused by Cerb 10.4 when saved")
					return
				}
				require.ErrorContains(t, err, "Unexpected command `start:"+c.Name+":`")
				compile(t, automations.Source{Script: "start:\n  " + c.Name + ":\n    output: x\n"}, automations.Options{Commands: []string{c.Name}})
				return
			}
			if c.Form != automations.FormAction {
				return
			}

			// The required keys are enough to compile; each one is required.
			script := actionScript(c)
			compile(t, automations.Source{Script: script}, automations.Options{})
			for _, p := range c.Inputs {
				if !p.Required {
					continue
				}
				err := compileError(automations.Source{Script: strings.Replace(script, "      "+p.Name+": x\n", "", 1)}, automations.Options{})
				require.ErrorContains(t, err, "`inputs:"+p.Name+":` is required for `start:"+c.Name+":`")
			}
			if c.OutputRequired {
				err := compileError(automations.Source{Script: strings.Replace(script, "    output: out\n", "", 1)}, automations.Options{})
				require.ErrorContains(t, err, "`output:` is required for `start:"+c.Name+":`")
			}

			// Unknown inputs are refused when the entry lists its inputs.
			err := compileError(automations.Source{Script: strings.Replace(script, "    inputs:\n", "    inputs:\n      zz_unknown: 1\n", 1)}, automations.Options{})
			if c.Inputs == nil {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, "Unknown input `zz_unknown:` for `start:"+c.Name+":`")
			}

			// The policy gate: an empty policy denies exactly the gated
			// commands, with an error on_error: can catch.
			p := compile(t, automations.Source{Script: script + "    on_error:\n      return:\n        error@key: out:error\n", Policy: "commands:\n"}, automations.Options{})
			res := p.Run(context.Background(), dict.New(0), automations.Runtime{})
			denied := res.Exit == automations.ExitReturn && strings.Contains(fmt.Sprint(res.Return.Value("error")), "The automation policy does not allow")
			require.Equal(t, c.Policy, denied, "%s: %v %v", c.Name, res.Return, res.Error)
			if c.Policy {
				allowed := compile(t, automations.Source{Script: script + "    on_error:\n      return:\n        error@key: out:error\n", Policy: allowAll(c.Name)}, automations.Options{})
				res := allowed.Run(context.Background(), dict.New(0), automations.Runtime{})
				require.NotContains(t, fmt.Sprint(res.Return), "The automation policy does not allow")
			}
		})
	}
}

func TestExtensionCommands(t *testing.T) {
	t.Parallel()

	t.Run("BuiltinWinsOverExtension", func(t *testing.T) {
		t.Parallel()
		p := compile(t, automations.Source{Script: "start:\n  set:\n    a: 1\n  return@key: a\n"}, automations.Options{Commands: []string{"set", "return"}})
		res := p.Run(context.Background(), dict.New(0), automations.Runtime{})
		require.Equal(t, automations.ExitReturn, res.Exit)
		require.Equal(t, "1", res.Return.Value(""))
	})

	t.Run("ExtensionMayProvideACerbCommand", func(t *testing.T) {
		t.Parallel()
		p := compile(t, automations.Source{Script: "start:\n  data.query:\n    inputs:\n      query: x\n    output: out\n  return@key: out\n", Policy: "commands:\n  data.query:\n    allow: yes\n"},
			automations.Options{Commands: []string{"data.query"}})
		res := p.Run(context.Background(), dict.New(0), automations.Runtime{Commands: echoCommands{}})
		require.Equal(t, automations.ExitReturn, res.Exit, res.Error)
		require.Equal(t, "data.query", res.Return.Value("name"))
	})

	t.Run("IsCheckedByThePolicy", func(t *testing.T) {
		t.Parallel()
		p := compile(t, automations.Source{Script: "start:\n  ext.x:\n    output: out\n"}, automations.Options{Commands: []string{"ext.x"}})
		res := p.Run(context.Background(), dict.New(0), automations.Runtime{Commands: echoCommands{}})
		require.Equal(t, automations.ExitError, res.Exit)
		require.Equal(t, "The automation policy does not allow this command (ext.x).", res.Error)
	})

	t.Run("UnknownWithoutTheExtension", func(t *testing.T) {
		t.Parallel()
		err := compileError(automations.Source{Script: "start:\n  ext.x:\n    output: out\n"}, automations.Options{})
		var ds automations.Diagnostics
		require.True(t, errors.As(err, &ds))
		require.Equal(t, "script:2:3: Unexpected command `start:ext.x:`", ds[0].Error())
	})
}

// echoCommands answers every extension command with its name and inputs.
type echoCommands struct{}

func (echoCommands) RunCommand(_ context.Context, name string, in *dict.Map) (any, error) {
	return dict.Of("name", name, "inputs", in), nil
}
