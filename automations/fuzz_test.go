package automations_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

// FuzzCompile compiles arbitrary script text and runs what compiles with
// small limits: neither may panic, and a compile failure is always
// Diagnostics. Seeds live in testdata/fuzz/FuzzCompile.
func FuzzCompile(f *testing.F) {
	f.Add(guideScript(f))
	f.Add("start:\n  return:\n    a@int: 1\n")
	f.Add("start:\n  while:\n    if@bool: yes\n    do:\n      set:\n        a: {{ a }}1\n")
	env := templates.New()
	inputs := dict.Of("request_method", "GET", "request_headers", dict.Of("host", "x"), "inputs", dict.New(0))
	f.Fuzz(func(t *testing.T, script string) {
		p, err := automations.Compile(automations.Source{Name: "fuzz", Script: script},
			automations.Options{Templates: env, Limits: automations.Limits{Steps: 200, Time: 50 * time.Millisecond, ValueBytes: 1 << 16}})
		if err != nil {
			var ds automations.Diagnostics
			if !errors.As(err, &ds) || len(ds) == 0 {
				t.Fatalf("compile error is not Diagnostics: %T %v", err, err)
			}
			return
		}
		res := p.Run(context.Background(), inputs, automations.Runtime{})
		if res == nil || res.Exit == "" {
			t.Fatalf("run gave no result")
		}
		if res.Exit == automations.ExitError && len(res.Error) > 9 && res.Error[:9] == "internal " {
			t.Fatalf("run panicked: %s", res.Error)
		}
	})
}
