package catalog_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/catalog"
)

func TestSecretRefs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []string
	}{
		{"None", "start:\n  return:\n    body: hi\n", nil},
		{"Dotted", "body: {{secrets.API_KEY}} and {{ secrets.other_2 }}", []string{"API_KEY", "other_2"}},
		{"Brackets", `a: {{secrets['ONE']}} b: {{ secrets["TWO"] }}`, []string{"ONE", "TWO"}},
		{"Repeated", "{{secrets.A}}{{secrets.A}}{{secrets.B}}", []string{"A", "B"}},
		{"InFilterAndIf", "{% if secrets.X %}{{ secrets.Y|upper }}{% endif %}", []string{"X", "Y"}},
		{"WholeDictNamesNone", "{{secrets|json_encode}}", nil},
		{"NotAWord", "mysecrets.A nosecrets.B", nil},
		{"TooLong", "{{secrets." + strings.Repeat("a", 65) + "}}", nil},
		{"InvalidCharsStop", "{{secrets.a-b}}", []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, catalog.SecretRefs(tt.text))
		})
	}
}
