package extensions

// WithoutParentDeathSignal returns c with the parent-death signal off, to
// test that extension processes exit by themselves when their host dies.
func WithoutParentDeathSignal(c Config) Config {
	c.noPdeathsig = true
	return c
}
