package main

import "github.com/hookhost/hookhost/internal/oracle"

// generated returns the generated areas.
func generated() []*oracle.File { return nil }
