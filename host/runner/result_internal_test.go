package runner

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/templates/dict"
)

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
