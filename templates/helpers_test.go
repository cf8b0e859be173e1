package templates

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

// testData is the dictionary most table tests render with.
const testData = `{
  "name": "Ada <Lovelace>",
  "n": 42, "f": 1.5, "whole": 2.0, "neg": -3, "t": true, "fa": false, "nul": null, "zero": "0", "empty": "",
  "list": [3, 1, 2], "words": ["b", "a", "c"], "nested": {"z": 1, "a": {"y": "deep"}, "m": [1, 2]},
  "headers": {"content-type": "application/json", "x-custom": "yes"},
  "rows": [{"id": 1, "name": "one"}, {"id": 2, "name": "two"}],
  "url": "https://user:pw@example.com:8080/p/a?q=1&r=2#frag",
  "text": "line one\r\nline two\n\n  line three  ",
  "html": "<p>Hi <b>there</b></p>",
  "ts": 1700000000,
  "emptylist": [], "emptydict": {},
  "ab": "a\nb", "lines": "a\n#b\nc", "csvtext": "a,b\n\"c,d\",e", "crlf": "a\nb\r\nc", "negf": -2.5
}`

func mustData(t testing.TB, js string) *dict.Map {
	t.Helper()
	v, err := dict.DecodeJSON([]byte(js))
	require.NoError(t, err)
	return v.(*dict.Map)
}

type renderCase struct {
	name    string
	src     string
	want    string
	wantErr string // substring of the error; empty: no error
}

func runCases(t *testing.T, cases []renderCase) {
	t.Helper()
	env := New()
	data := mustData(t, testData)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := env.Render(tc.src, data)
			if tc.wantErr != "" {
				require.Error(t, err)
				var te *Error
				require.ErrorAs(t, err, &te)
				require.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, out)
		})
	}
}
