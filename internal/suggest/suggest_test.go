package suggest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"listen", "listen", 0}, {"lisetn", "listen", 2},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Distance(tt.a, tt.b), "%q %q", tt.a, tt.b)
	}
}

func TestHint(t *testing.T) {
	known := []string{"listen", "admin-listen", "data-dir"}
	tests := []struct{ key, want string }{
		{"lisen", `; did you mean "listen"?`},
		{"data_dir", `; did you mean "data-dir"?`},
		{"completely-different", ""},
		{"", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Hint(tt.key, known), tt.key)
	}
	require.Empty(t, Hint("x", nil))
}
