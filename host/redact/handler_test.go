package redact_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/redact"
)

// stringer is an slog.KindAny value whose printed form holds a secret.
type stringer struct{ s string }

func (s stringer) String() string { return s.s }

func TestRedactHandler(t *testing.T) {
	t.Parallel()
	const secret = "hidden-Echo-42"
	tok := strings.Repeat("ab12", 10)
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		want string // substring of the line
	}{
		{"Message", func(l *slog.Logger) { l.Info("saw " + secret) }, `msg="saw [redacted]"`},
		{"StringAttr", func(l *slog.Logger) { l.Info("m", "k", "x"+secret+"y") }, "k=x[redacted]y"},
		{"ErrorAttr", func(l *slog.Logger) { l.Info("m", "error", errors.New("bad "+secret)) }, `error="bad [redacted]"`},
		{"StringerAttr", func(l *slog.Logger) { l.Info("m", "v", stringer{secret}) }, "v=[redacted]"},
		{"Group", func(l *slog.Logger) { l.Info("m", slog.Group("g", "k", secret)) }, "g.k=[redacted]"},
		{"WithAttrs", func(l *slog.Logger) { l.With("k", secret).Info("m") }, "k=[redacted]"},
		{"WithGroup", func(l *slog.Logger) { l.WithGroup("g").Info("m", "k", secret) }, "g.k=[redacted]"},
		{"JSONEscaped", func(l *slog.Logger) { l.Info("m", "body", `{"k":"`+secret+`"}`) }, `body="{\"k\":\"[redacted]\"}"`},
		{"WebhookPath", func(l *slog.Logger) { l.Info("m", "path", "/webhooks/"+tok+"/x") }, "path=/webhooks/[redacted]/x"},
		{"TokenParam", func(l *slog.Logger) { l.Info("m", "url", "/webhook-jobs/1?token="+tok) }, `url="/webhook-jobs/1?token=[redacted]"`},
		{"OtherValuesKept", func(l *slog.Logger) { l.Info("m", "n", 42, "ok", true, "sha", tok) }, "n=42 ok=true sha=" + tok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			r := redact.New(secret)
			tt.log(slog.New(r.Handler(slog.NewTextHandler(&buf, nil))))
			require.Contains(t, buf.String(), tt.want)
			require.NotContains(t, buf.String(), secret)
		})
	}
}
