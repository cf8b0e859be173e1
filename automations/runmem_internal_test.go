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

// TestKeptBytes_Pooled: a runner goes back to its pool with its account's
// map only when the map never held more than maxPooledKeys keys (review
// rev2: a run that wrote 50,000 keys and unset them pooled a map with room
// for 50,000).
func TestKeptBytes_Pooled(t *testing.T) {
	r := &runner{p: &Program{limits: DefaultLimits(Limits{})}, data: dict.New(0), res: &Result{}}
	for i := range maxPooledKeys {
		r.storeValue("", "k"+itoa(i), "v")
	}
	if m := r.kept.pooled(); m == nil || len(m) != 0 {
		t.Fatalf("a small account's map is not pooled empty: %v", m)
	}
	for i := range 2 * maxPooledKeys {
		r.storeValue("", "k"+itoa(i), "v")
	}
	for i := range 2 * maxPooledKeys {
		r.forget("k" + itoa(i))
	}
	if m := r.kept.pooled(); m != nil {
		t.Fatalf("a map that held %d keys is pooled", 2*maxPooledKeys)
	}
}
