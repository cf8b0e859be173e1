package runner

import (
	"bytes"
	"fmt"

	"github.com/hookhost/hookhost/templates/dict"
)

// encode encodes a dictionary value compactly.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := dict.Encode(&buf, v, ""); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return buf.Bytes(), nil
}
