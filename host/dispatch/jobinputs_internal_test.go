package dispatch

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/templates/dict"
)

// jobInputsCase is a durable 202's request and what its job's inputs are
// built from.
type jobInputsCase struct {
	name        string
	req         automations.HTTPRequest
	kata        string
	credHeaders []string
	inputs      *dict.Map // the handler's inputs: (inputs), or nil
}

// jobInputsCases are requests of every kind the shown copy differs in.
func jobInputsCases() []jobInputsCase {
	long := strings.Repeat("x", 40)
	json := func(body string, headers ...[2]string) automations.HTTPRequest {
		return automations.HTTPRequest{Method: "POST", Path: "/a/b", ClientIP: "127.0.0.1",
			Headers: append([][2]string{{"Host", "127.0.0.1:8080"}, {"Content-Type", "application/json"}}, headers...),
			Query:   [][2]string{{"key", "value"}}, Body: []byte(body)}
	}
	return []jobInputsCase{
		{name: "EmptyBody", req: json("")},
		{name: "JSONBody", req: json(`{"a":"xyz","b":"<é\u2028>"}` + strings.Repeat(`{"a":"xyz"},`, 100))},
		{name: "Multipart", req: automations.HTTPRequest{Method: "POST", Headers: [][2]string{
			{"Content-Type", "multipart/form-data; boundary=b"}}, Form: [][2]string{{"f", "1"}},
			Body: []byte("--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n1\r\n--b--\r\n")}},
		{name: "Bearer", req: json(`{"token_echo":"Bearer abcdefgh12345678"}`, [2]string{"Authorization", "Bearer abcdefgh12345678"})},
		{name: "ExtraCredentialHeader", credHeaders: []string{"X-Sig"},
			req: json(`{"sig":"sha256=0123456789abcdef"}`, [2]string{"X-Sig", "sha256=0123456789abcdef"})},
		{name: "CredentialParam", req: automations.HTTPRequest{Method: "GET", Query: [][2]string{{"api_token", "abcdefgh"}, {"k", long}}}},
		{name: "StoredSecret", req: json(`{"v":"s3cr3t-value-1234"}`, [2]string{"X-Echo", "s3cr3t-value-1234"})},
		{name: "SecretInKATA", kata: "verify: s3cr3t-value-1234 " + long, req: json(long)},
		{name: "RepeatedLongStrings", kata: long, req: json(long, [2]string{"X-A", long}, [2]string{"X-A", long}),
			inputs: dict.Of("a", long, "b", []any{long, dict.Of(long, long)}, "c", dict.New(0))},
		{name: "OddKeys", req: json(long, [2]string{"X-\"Quoted\"\\", "v\x00\xff" + long}),
			inputs: dict.Of("\u2028\"k", "\xffv", "", "")},
	}
}

// buildJobInputs makes a case's inputs as handOff gets them.
func buildJobInputs(tc jobInputsCase) *dict.Map {
	inputs := automations.WebhookInputs(tc.req, automations.WebhookInfo{ID: "w1", Name: "hook", EventKATA: tc.kata})
	if tc.inputs != nil {
		inputs.Set("inputs", tc.inputs)
	}
	inputs.Set("webhook_data", automations.WebhookData("hook", tc.req))
	return inputs
}

// compactedJobInputs is inputs without webhook_data's RequestBody when
// automations.CompactsRequestBody says a job record leaves it out (a deep
// copy), else inputs itself: the shown copy as it was made before
// encodeJobInputs wrote it compacted.
func compactedJobInputs(inputs *dict.Map) *dict.Map {
	if _, ok := automations.CompactsRequestBody(inputs); !ok {
		return inputs
	}
	c := inputs.Clone()
	c.Value("webhook_data").(*dict.Map).Delete("RequestBody")
	return c
}

// TestEncodeJobInputs: a job's inputs and their shown copy are what
// encoding the inputs, and the redacted copy compacted (compactedJobInputs),
// give; the inputs are not modified.
func TestEncodeJobInputs(t *testing.T) {
	t.Parallel()
	red := redact.New("s3cr3t-value-1234")
	for _, tc := range jobInputsCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inputs := buildJobInputs(tc)
			before := string(encode(inputs))
			shownInputs := red.Inputs(inputs, tc.credHeaders...)
			if caller := red.CallerRedaction(tc.req.Headers, redact.InputsFieldCredentials(inputs), tc.credHeaders...); caller != nil {
				shownInputs, _ = redact.Walk(shownInputs, caller).(*dict.Map)
			}
			want := string(encode(compactedJobInputs(shownInputs)))

			real, shown, _ := jobInputs(red, inputs, tc.req.Headers, tc.credHeaders)
			require.Equal(t, before, string(real))
			require.Equal(t, want, string(shown))
			require.Equal(t, before, string(encode(inputs)), "the inputs are not modified")
		})
	}
}

// BenchmarkJobInputs measures a durable 202's work on its job's inputs:
// their shown copy and the encoding of both.
func BenchmarkJobInputs(b *testing.B) {
	red := redact.New("s3cr3t-value-1234")
	for _, size := range []int{0, 64 << 10} {
		for _, tc := range jobInputsCases()[:1] {
			tc.req.Body = []byte(strings.Repeat(`{"a":"xyz"},`, size/12))
			b.Run(tc.name+"/"+strconv.Itoa(size), func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					inputs := buildJobInputs(tc)
					jobInputs(red, inputs, tc.req.Headers, tc.credHeaders)
				}
			})
		}
	}
}
