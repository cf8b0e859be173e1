package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hookhost/hookhost/internal/suggest"
	"github.com/hookhost/hookhost/internal/yamllimit"
)

// configFlag is the flag (and HOOKHOST_CONFIG the variable) naming the
// server's configuration file.
const configFlag = "config"

// configProblem is one problem of a configuration file, at its position.
type configProblem struct {
	file      string
	line, col int
	msg       string
}

func (p configProblem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.file, p.line, p.col, p.msg)
}

// configProblems lists every problem of a configuration file.
type configProblems []configProblem

func (ps configProblems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// configEntry is one key of a configuration file and its value as a flag
// would take it.
type configEntry struct {
	key, value string
	line, col  int
}

// readConfigFile parses a YAML configuration file: a mapping whose keys are
// `serve`'s flag names and whose values are scalars (a list for a flag that
// takes a comma-separated list). Every problem is reported at once, with
// its position. Values are checked by setting them on probe, a throwaway
// copy of the flags.
func readConfigFile(path string, fs, probe *pflag.FlagSet) ([]configEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	// The parser is quadratic in nesting, keys of a mapping and documents:
	// bound them first.
	if err := yamllimit.Check(data); err != nil {
		var le *yamllimit.Error
		if errors.As(err, &le) {
			return nil, configProblems{{path, le.Line, le.Col, le.Msg}}
		}
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlProblem(path, err)
	}
	var problems configProblems
	var entries []configEntry
	var body ast.Node
	if len(file.Docs) > 0 {
		body = file.Docs[0].Body
	}
	var pairs []*ast.MappingValueNode
	switch n := body.(type) {
	case nil:
	case *ast.MappingNode:
		pairs = n.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{n}
	default:
		pos := n.GetToken().Position
		return nil, configProblems{{path, pos.Line, pos.Column, "the file must be a mapping of settings (key: value), such as listen: 127.0.0.1:8080"}}
	}
	seen := map[string]bool{}
	for _, kv := range pairs {
		kpos := kv.Key.GetToken().Position
		key := strings.TrimSpace(kv.Key.String())
		at := func(msg string, args ...any) {
			problems = append(problems, configProblem{path, kpos.Line, kpos.Column, fmt.Sprintf(msg, args...)})
		}
		f := fs.Lookup(key)
		switch {
		case key == configFlag:
			at("%q cannot be set in the configuration file itself", key)
			continue
		case f == nil || f.Hidden:
			at("unknown key %q%s", key, flagHint(key, fs))
			continue
		case seen[key]:
			at("key %q is set twice", key)
			continue
		}
		seen[key] = true
		value, ok := scalarText(kv.Value)
		if !ok {
			vpos := nodePos(kv.Value)
			problems = append(problems, configProblem{path, vpos.Line, vpos.Column,
				fmt.Sprintf("%s: must be a single value or a list of values, not a mapping", key)})
			continue
		}
		vpos := nodePos(kv.Value)
		if err := probe.Set(key, value); err != nil {
			problems = append(problems, configProblem{path, vpos.Line, vpos.Column, fmt.Sprintf("%s: %v", key, err)})
			continue
		}
		entries = append(entries, configEntry{key: key, value: value, line: vpos.Line, col: vpos.Column})
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return entries, nil
}

// yamlPosRE reads go-yaml's "[line:col] message" error form.
var yamlPosRE = regexp.MustCompile(`^\[(\d+):(\d+)\] (.*)$`)

// yamlProblem turns a YAML syntax error into a problem at its position
// ("mapping key "listen" already defined at [1:1]" for a key set twice).
func yamlProblem(path string, err error) error {
	msg := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	if m := yamlPosRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		return configProblems{{path, line, col, m[3]}}
	}
	return fmt.Errorf("%s: %s", path, msg)
}

// nodePos is where a value starts (a mapping: its first key).
func nodePos(n ast.Node) *token.Position {
	switch v := n.(type) {
	case *ast.MappingValueNode:
		return v.Key.GetToken().Position
	case *ast.MappingNode:
		if len(v.Values) > 0 {
			return v.Values[0].Key.GetToken().Position
		}
	}
	return n.GetToken().Position
}

// scalarText returns the text a flag would take for a YAML value: a scalar
// as written (quotes removed), a list as its items joined with commas,
// null as "".
func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.NullNode:
		return "", true
	case *ast.StringNode:
		return v.Value, true
	case *ast.SequenceNode:
		items := make([]string, 0, len(v.Values))
		for _, it := range v.Values {
			s, ok := scalarText(it)
			if !ok {
				return "", false
			}
			items = append(items, s)
		}
		return strings.Join(items, ","), true
	case *ast.MappingNode, *ast.MappingValueNode:
		return "", false
	case ast.ScalarNode:
		return v.GetToken().Value, true
	}
	return strings.TrimSpace(n.String()), true
}

// flagHint names the flag closest to key, when one is close.
func flagHint(key string, fs *pflag.FlagSet) string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Name != configFlag {
			names = append(names, f.Name)
		}
	})
	if hint := suggest.Hint(strings.ReplaceAll(key, "_", "-"), names); hint != "" {
		return hint
	}
	return " (hookhost serve --help lists the settings)"
}

// applyConfigFile sets, from the configuration file named by --config or
// HOOKHOST_CONFIG, every flag of cmd that neither the command line nor the
// environment set: flags win over the environment, which wins over the
// file. The file is serve's: a key that names a setting of serve but no
// flag of cmd (migrate reads only data-dir and database) is left alone. It
// returns where each flag's value came from.
func applyConfigFile(cmd *cobra.Command) (fileSettings, error) {
	fs := cmd.Flags()
	applied := fileSettings{cmdline: map[string]bool{}, env: map[string]string{}}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			applied.cmdline[f.Name] = true
		} else if envs := f.Annotations[envAnnotation]; len(envs) > 0 {
			if _, set := os.LookupEnv(envs[0]); set {
				applied.env[f.Name] = envs[0]
			}
		}
	})
	path, _ := fs.GetString(configFlag)
	if path == "" {
		return applied, nil
	}
	serve := newServeCmd().Flags()
	entries, err := readConfigFile(path, serve, serve)
	if err != nil {
		return fileSettings{}, err
	}
	applied.path = path
	var errs configProblems
	for _, e := range entries {
		f := fs.Lookup(e.key)
		if f == nil || applied.cmdline[e.key] || applied.env[e.key] != "" {
			continue // not cmd's, or the command line or the environment wins
		}
		if err := f.Value.Set(e.value); err != nil {
			errs = append(errs, configProblem{path, e.line, e.col, fmt.Sprintf("%s: %v", e.key, err)})
			continue
		}
		applied.entries = append(applied.entries, e)
	}
	if len(errs) > 0 {
		return fileSettings{}, errs
	}
	return applied, nil
}

// fileSettings are where the settings came from: the entries a
// configuration file gave, the flags set on the command line (cmdline) and
// those set by an environment variable (env: the variable by flag name).
type fileSettings struct {
	path    string
	entries []configEntry
	cmdline map[string]bool
	env     map[string]string
}

// flagNameRE finds the flags an error names (--request-timeout).
var flagNameRE = regexp.MustCompile(`--([a-z][a-z0-9-]*)`)

// place puts err, a check of the settings that names the flags it is about
// ("--request-timeout 0s: must be positive"), where the value it is about
// was given: the first flag it names that was set decides. A value the file
// gave is reported at its line:col, one an environment variable gave names
// the variable, and one the command line gave is returned as it is, as are
// errors that name no flag that was set.
func (s fileSettings) place(err error) error {
	for _, m := range flagNameRE.FindAllStringSubmatch(err.Error(), -1) {
		switch name := m[1]; {
		case s.cmdline[name]:
			return err
		case s.env[name] != "":
			return fmt.Errorf("%s: %w", s.env[name], err)
		default:
			for _, e := range s.entries {
				if e.key == name {
					return configProblems{{s.path, e.line, e.col, err.Error()}}
				}
			}
		}
	}
	return err
}

// sortedFlagNames lists the names of fs's visible flags, sorted.
func sortedFlagNames(fs *pflag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Name != configFlag {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	return names
}
