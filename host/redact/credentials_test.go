package redact_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/redact"
)

// TestJoinedCallerRedaction checks what a job's record redacts of the
// caller's credentials, from its request_headers, where the values of a
// repeated header are one, joined with ", ": each value the caller may
// have sent, with CallerCredentials' rules (a Bearer token alone, a Basic
// one decoded, its password alone when long enough), as well as the
// joined value whole; a value holding ", " is still redacted whole, and a
// piece shorter than MinLen is not redacted alone. CallerRedaction, for a
// run's record (one value a pair), does not split values.
func TestJoinedCallerRedaction(t *testing.T) {
	t.Parallel()
	r := redact.New("stored-s3cret")
	tests := []struct {
		name    string
		headers [][2]string // as request_headers holds them
		extra   []string
		text    string
		// want is text as the job's record redacts it, wantRun as a
		// run's record would with the same pairs (CallerRedaction).
		want, wantRun string
	}{
		{
			name:    "RepeatedBearer",
			headers: [][2]string{{"authorization", "Bearer first-tok-1, Bearer second-tok-2"}},
			text:    "a=first-tok-1 b=second-tok-2 h=Bearer second-tok-2 all=Bearer first-tok-1, Bearer second-tok-2",
			want:    "a=[redacted] b=[redacted] h=[redacted] all=[redacted]",
			wantRun: "a=first-tok-1 b=second-tok-2 h=Bearer second-tok-2 all=[redacted]",
		},
		{
			name:    "RepeatedVerifyReadHeader",
			headers: [][2]string{{"x_custom_key", "custom-value-1, custom-value-2"}},
			extra:   []string{"X-Custom-Key"},
			text:    `got custom-value-2 json "custom-value-1" url custom-value-1%2C+custom-value-2`,
			want:    `got [redacted] json "[redacted]" url [redacted]`,
			wantRun: `got custom-value-2 json "custom-value-1" url [redacted]`,
		},
		{
			name:    "RepeatedBasic",
			headers: [][2]string{{"authorization", "Basic dXNlcjpwNHNzLXdvcmQ=, Basic YWRtaW46dHJ1ZQ=="}},
			// user:p4ss-word's password is long enough to be redacted
			// alone, admin:true's is not.
			text:    "p4ss-word admin:true true YWRtaW46dHJ1ZQ==",
			want:    "[redacted] [redacted] true [redacted]",
			wantRun: "p4ss-word admin:true true YWRtaW46dHJ1ZQ==",
		},
		{
			// One value holding ", ", sent once: whole, and its pieces.
			name:    "CommaInsideOneValue",
			headers: [][2]string{{"x_api_key", "key-part-one, key-part-two"}},
			text:    "whole=key-part-one, key-part-two piece=key-part-two",
			want:    "whole=[redacted] piece=[redacted]",
			wantRun: "whole=[redacted] piece=key-part-two",
		},
		{
			// "ab, key-part-two" was one value, "other-value-3" another:
			// the first is redacted whole although its piece "ab" is too
			// short to be redacted alone.
			name:    "CommaInsideRepeatedValue",
			headers: [][2]string{{"x_api_key", "ab, key-part-two, other-value-3"}},
			text:    "first=ab, key-part-two second=other-value-3 ab",
			want:    "first=[redacted] second=[redacted] ab",
			wantRun: "first=ab, key-part-two second=other-value-3 ab",
		},
		{
			name:    "ShortPieceNotAlone",
			headers: [][2]string{{"x_custom_key", "abc, long-enough-value"}},
			extra:   []string{"X-Custom-Key"},
			text:    "abc abcd long-enough-value abc, long-enough-value",
			want:    "abc abcd [redacted] [redacted]",
			wantRun: "abc abcd long-enough-value [redacted]",
		},
		{
			name:    "RepeatedNotACredentialHeader",
			headers: [][2]string{{"accept", "text/html-value, application/json"}},
			text:    "text/html-value application/json",
		},
		{
			name:    "StoredSecretsStillRedacted",
			headers: [][2]string{{"x_api_key", "first-key-1, second-key-2"}},
			text:    "stored-s3cret second-key-2",
			want:    "[redacted] [redacted]",
			wantRun: "[redacted] second-key-2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			red := r.JoinedCallerRedaction(tt.headers, nil, tt.extra...)
			run := r.CallerRedaction(tt.headers, nil, tt.extra...)
			if tt.want == "" {
				require.Nil(t, red)
				require.Nil(t, run)
				return
			}
			require.NotNil(t, red)
			require.Equal(t, tt.want, red(tt.text), "the job's record")
			require.Equal(t, tt.wantRun, run(tt.text), "a run's record")
			require.Equal(t, "nothing here", red("nothing here"))
		})
	}
}

// TestJoinedCallerCredentials_Runs checks which pieces of a joined value
// JoinedCallerCredentials lists: every run of up to four pieces, so that a
// value with up to three ", " inside is listed whole among any number of
// others; longer runs only as the joined value whole.
func TestJoinedCallerCredentials_Runs(t *testing.T) {
	t.Parallel()
	got := redact.JoinedCallerCredentials([][2]string{{"X-Api-Key", "aaaa, bbbb, cccc, dddd, eeee"}})
	require.ElementsMatch(t, []string{
		"aaaa, bbbb, cccc, dddd, eeee",
		"aaaa", "aaaa, bbbb", "aaaa, bbbb, cccc", "aaaa, bbbb, cccc, dddd",
		"bbbb", "bbbb, cccc", "bbbb, cccc, dddd", "bbbb, cccc, dddd, eeee",
		"cccc", "cccc, dddd", "cccc, dddd, eeee",
		"dddd", "dddd, eeee",
		"eeee",
	}, got)
	// Empty pieces (", , ") and a trailing ", " add nothing short.
	got = redact.JoinedCallerCredentials([][2]string{{"X-Api-Key", "aaaa, , "}})
	require.ElementsMatch(t, []string{"aaaa, , ", "aaaa", "aaaa, "}, got)
}

// TestJoinedCallerRedaction_NoCredentialNoAllocation: a job whose request
// carried no credential header, repeated headers included, costs its
// record no more for the caller's credentials than a run's costs its
// (CallerRedaction): nothing.
func TestJoinedCallerRedaction_NoCredentialNoAllocation(t *testing.T) {
	r := redact.New("stored-s3cret")
	extra := []string{"X-Custom-Key"}
	for _, headers := range [][][2]string{
		{{"host", "127.0.0.1:8080"}, {"accept", "text/html, application/json"}, {"x_customheader", "true, false"}},
		{{"host", "127.0.0.1:8080"}, {"accept", "text/html, application/json"}, {"customheader", "true, false"}},
	} {
		allocs := func(f func([][2]string, []string, ...string) func(string) string) float64 {
			return testing.AllocsPerRun(100, func() {
				if f(headers, nil, extra...) != nil {
					t.Fatal("a redaction for a request without credentials")
				}
			})
		}
		joined, run := allocs(r.JoinedCallerRedaction), allocs(r.CallerRedaction)
		require.Zero(t, run, "%q", headers)
		require.Zero(t, joined, "%q", headers)
	}
	require.Zero(t, testing.AllocsPerRun(100, func() {
		_ = r.JoinedCallerRedaction([][2]string{{"host", "127.0.0.1:8080"}, {"accept", "text/html, application/json"}}, nil, extra...)
	}))
}

// TestJoinedCallerCredentials_ManyPieces: a joined value of many pieces
// lists each piece once besides the whole, as many credentials as the
// same values sent on separate lines give a run's record and one more,
// not a run of each length from each piece.
func TestJoinedCallerCredentials_ManyPieces(t *testing.T) {
	t.Parallel()
	for _, n := range []int{17, 100, 2000} {
		var lines [][2]string
		pieces := make([]string, n)
		for i := range pieces {
			pieces[i] = fmt.Sprintf("tok-%05d", i)
			lines = append(lines, [2]string{"X-Api-Key", pieces[i]})
		}
		joined := redact.JoinedCallerCredentials([][2]string{{"x_api_key", strings.Join(pieces, ", ")}})
		require.Len(t, joined, len(redact.CallerCredentials(lines))+1, "%d pieces", n)
	}
	// At maxJoinedPieces pieces, runs are still listed.
	pieces := make([]string, 16)
	for i := range pieces {
		pieces[i] = fmt.Sprintf("tok-%05d", i)
	}
	joined := redact.JoinedCallerCredentials([][2]string{{"x_api_key", strings.Join(pieces, ", ")}})
	require.Contains(t, joined, pieces[3]+", "+pieces[4])
}
