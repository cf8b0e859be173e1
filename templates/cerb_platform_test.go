package templates

import (
	"testing"

	"github.com/hookhost/hookhost/templates/dict"
)

// TestCerbDataFunctions checks placeholders_list, date_lerp and
// vobject_parse against answers of Cerb 10.4.10 (testdata/cerb) and the
// rules of Cerb's source.
func TestCerbDataFunctions(t *testing.T) {
	t.Parallel()
	data := dict.New(4)
	data.Set("request_method", "GET")
	data.Set("request_body", "")
	data.Set("webhook_id", "7")
	data.Set("__exit", "return")
	tests := []struct{ name, src, want string }{
		{"placeholders", `{{ placeholders_list()|keys|json_encode }}`, `["request_method","request_body","webhook_id"]`},
		{"placeholders extract", `{{ placeholders_list('request_', 'r.')|keys|json_encode }}`, `["r.method","r.body"]`},
		{"date_lerp days", `{{ date_lerp('Jan 1 2020 to Jan 4 2020', 'day')|json_encode }}`, `[1577836800,1577923200,1578009600,1578096000]`},
		{"date_lerp months", `{{ date_lerp('Jan 15 2020 to Mar 2 2020', 'month')|json_encode }}`, `[1577836800,1580515200,1583020800]`},
		{"date_lerp not text", `{{ date_lerp(5, 'day')|json_encode }}`, `false`},
		{"vcard", `{{ vobject_parse("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Joe\r\nEND:VCARD")|json_encode }}`,
			`{"VCARD":[{"props":{"VERSION":[{"params":[],"value":"3.0"}],"FN":[{"params":[],"value":"Joe"}]}}]}`},
		{"vcard params", `{{ vobject_parse("BEGIN:VCARD\nTEL;TYPE=\"work,voice\";PREF:1\\,2\nEND:VCARD")|json_encode }}`,
			`{"VCARD":[{"props":{"TEL":[{"params":{"TYPE":"work,voice","PREF":""},"value":"1,2"}]}}]}`},
		{"extract uris", `{{ cerb_extract_uris('<a href="http://x.example/">x</a>')|keys|json_encode }}`, `["tokens","context","template"]`},
		{"extract uris tokens", `{{ cerb_extract_uris('<a href="http://x.example/">x</a>').tokens|first }}`, `http://x.example/`},
	}
	env := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := env.Render(tt.src, data)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s\n got %s\nwant %s", tt.src, got, tt.want)
			}
		})
	}
}
