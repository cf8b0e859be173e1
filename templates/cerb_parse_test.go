package templates

import "testing"

// TestCerbParseFilters checks parse_emails, parse_user_agent and
// image_info against Cerb 10.4.10's answers (testdata/cerb/cerb_filters)
// and the rules of the code Cerb runs.
func TestCerbParseFilters(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"emails", `{{ 'Joe <joe@example.com>, ann@example.com'|parse_emails|json_encode }}`,
			`{"joe@example.com":{"full_email":"Joe <joe@example.com>","email":"joe@example.com","mailbox":"joe","host":"example.com","personal":"Joe"},"ann@example.com":{"full_email":"ann@example.com","email":"ann@example.com","mailbox":"ann","host":"example.com","personal":""}}`},
		{"emails invalid", `{{ 'not an email'|parse_emails|json_encode }}`, `[]`},
		{"emails quoted", `{{ '"Doe, J." <j@x.example>; k@x.example (Kay)'|parse_emails|json_encode }}`,
			`{"j@x.example":{"full_email":"\"Doe, J.\" <j@x.example>","email":"j@x.example","mailbox":"j","host":"x.example","personal":"Doe, J."},"k@x.example":{"full_email":"Kay <k@x.example>","email":"k@x.example","mailbox":"k","host":"x.example","personal":"Kay"}}`},
		{"ua chrome", `{{ 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'|parse_user_agent|json_encode }}`,
			`{"platform":"Windows","browser":"Chrome","version":"120.0.0.0"}`},
		{"ua safari", `{{ 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1'|parse_user_agent|json_encode }}`,
			`{"platform":"iPhone","browser":"Safari","version":"17.0"}`},
		{"ua firefox", `{{ 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'|parse_user_agent|json_encode }}`,
			`{"platform":"Linux","browser":"Firefox","version":"120.0"}`},
		{"ua curl", `{{ 'curl/7.88.1'|parse_user_agent|json_encode }}`, `{"platform":null,"browser":"curl","version":"7.88.1"}`},
		{"ua empty", `{{ ''|parse_user_agent|json_encode }}`, `{"platform":null,"browser":null,"version":null}`},
		{"gif", `{{ 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7'|base64_decode|image_info|json_encode }}`,
			`{"width":1,"height":1,"channels":1,"bits":1,"type":"image\/gif"}`},
		{"png data uri", `{{ 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAADCAYAAAC56t6BAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='|image_info|json_encode }}`,
			`{"width":2,"height":3,"channels":3,"bits":8,"type":"image\/png"}`},
		{"not image", `{{ 'abc'|image_info|json_encode }}`, `{"_error":"Failed to determine image dimensions."}`},
	}
	env := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := env.Render(tt.src, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s\n got %s\nwant %s", tt.src, got, tt.want)
			}
		})
	}
}
