package packages

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDuplicateKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json, want string
	}{
		{"None", `{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}`, ""},
		{"Top", `{"a":1,"a":2}`, `duplicate key "a" (line 1, column 8): each key may appear once in an object`},
		{"InRecord", "{\"records\": [\n  {\"uid\": \"x\"},\n  {\"uid\": \"y\",\n   \"name\": \"n\", \"name\": \"m\"}\n]}",
			`duplicate key "name" in records[1] (line 4, column 17): each key may appear once in an object`},
		{"Nested", `{"package":{"configure":{"prompts":[{"key":"k","key":"j"}]}}}`,
			`duplicate key "key" in package.configure.prompts[0] (line 1, column 48): each key may appear once in an object`},
		{"SameKeyInSiblings", `[{"a":1},{"a":1}]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, duplicateKey([]byte(tt.json)))
		})
	}
}
