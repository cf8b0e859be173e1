package automations

import (
	"testing"

	"github.com/hookhost/hookhost/templates/dict"
)

// BenchmarkStore measures what the run-memory account adds to a top-level
// write: storeValue (value limit, charge, store) against what set: and
// outputs did before it (value limit, store), on eight keys written over
// and over.
func BenchmarkStore(b *testing.B) {
	keys := []string{"order", "total", "last", "seen", "item", "item__index", "response", "out"}
	v := dict.Of("id", int64(42), "name", "Kina")
	for _, bc := range []struct {
		name  string
		write func(r *runner, k string)
	}{
		{"unaccounted", func(r *runner, k string) {
			if !r.checkSize("", v) {
				r.data.Set(k, v)
			}
		}},
		{"accounted", func(r *runner, k string) { r.storeValue("", k, v) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := &runner{p: &Program{limits: DefaultLimits(Limits{})}, data: dict.New(len(keys)), res: &Result{}}
			b.ReportAllocs()
			for b.Loop() {
				for _, k := range keys {
					bc.write(r, k)
				}
			}
		})
	}
}
