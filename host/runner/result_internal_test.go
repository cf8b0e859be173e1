package runner

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/templates/dict"
)

func TestResultOf_ReturnFormats(t *testing.T) {
	t.Parallel()
	ret := dict.Of("status_code", int64(201), "body", "\xff\x00raw", "headers", dict.Of("X-A", "b"))
	for _, tc := range []struct {
		name    string
		out     plugins.Outcome
		want    *dict.Map
		wantErr string
	}{
		{"JSON", plugins.Outcome{Return: []byte(`{"status_code":201,"body":"x"}`)}, dict.Of("status_code", int64(201), "body", "x"), ""},
		{"JSONBinaryBody", plugins.Outcome{Return: []byte(`{"body@base64":"/wByYXc="}`)}, dict.Of("body", "\xff\x00raw"), ""},
		{"Wire", plugins.Outcome{Return: dict.AppendWire(nil, ret, true), ReturnFormat: dict.WireVersion}, ret, ""},
		{"WireNotADictionary", plugins.Outcome{Return: dict.AppendWire(nil, []any{}, true), ReturnFormat: dict.WireVersion}, nil, "not a dictionary"},
		{"WireMalformed", plugins.Outcome{Return: []byte("m\x05"), ReturnFormat: dict.WireVersion}, nil, "decode return dictionary"},
		{"UnknownFormat", plugins.Outcome{Return: []byte("x"), ReturnFormat: "x/9"}, nil, `unknown format "x/9"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.out.Exit = plugins.ExitReturn
			res, err := resultOf(tc.out)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, res.Return)
		})
	}
}

// TestResultOf_ReturnJSON checks that a result keeps the extension's JSON
// of the return dictionary only when it is the dictionary the host uses.
func TestResultOf_ReturnJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		out  plugins.Outcome
		want string // "": none
	}{
		{"AsSent", plugins.Outcome{Exit: "return", Return: []byte(`{"status_code":200,"body":"ok"}`)}, `{"status_code":200,"body":"ok"}`},
		{"BinaryBodyDecoded", plugins.Outcome{Exit: "return", Return: []byte(`{"body@base64":"/w=="}`)}, ""},
		{"InvalidUTF8", plugins.Outcome{Exit: "return", Return: []byte("{\"body\":\"\xff\"}")}, ""},
		{"InProcessValue", plugins.Outcome{Exit: "return", Value: dict.Of("body", "ok")}, ""},
		{"NoReturn", plugins.Outcome{Exit: "exit"}, ""},
		// The wire form is valid UTF-8 here, and still no JSON.
		{"Wire", plugins.Outcome{Exit: "return", Return: dict.AppendWire(nil, dict.Of("body", "ok"), true), ReturnFormat: dict.WireVersion}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := resultOf(tt.out)
			require.NoError(t, err)
			require.Equal(t, tt.want, string(res.ReturnJSON))
		})
	}
}
