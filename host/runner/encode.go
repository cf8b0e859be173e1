package runner

import (
	"github.com/hookhost/hookhost/templates/dict"
)

// encode encodes a dictionary value compactly.
func encode(v any) ([]byte, error) {
	return dict.AppendJSON(make([]byte, 0, 1024), v, ""), nil
}
