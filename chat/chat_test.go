package chat

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestStream(t *testing.T) {
	for _, text := range []string{"", "one", "  lead and trail  ", "a list:\n\n- one\n- `two`\n\n```go\nx := 1\n```\n", "émoji ✓ ok"} {
		var chunks []string
		for tok, err := range Stream(context.Background(), text) {
			if err != nil {
				t.Fatalf("Stream(%q): error %v", text, err)
			}
			chunks = append(chunks, tok)
		}
		if got := strings.Join(chunks, ""); got != text {
			t.Errorf("Stream(%q) joined = %q, want the text exactly", text, got)
		}
		if want := len(strings.Fields(text)); len(chunks) != want {
			t.Errorf("Stream(%q) gave %d chunks, want one a word (%d)", text, len(chunks), want)
		}
	}
}

func TestStreamCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	var gotErr error
	for tok, err := range Stream(ctx, "one two three") {
		if err != nil {
			gotErr = err
			break
		}
		got = append(got, tok)
		cancel()
	}
	if len(got) != 1 || !errors.Is(gotErr, context.Canceled) {
		t.Errorf("after cancel: got %q and %v, want one word then context.Canceled", got, gotErr)
	}
}

func TestEngineFunc(t *testing.T) {
	var e Engine = EngineFunc(func(ctx context.Context, q Query) (*Reply, error) {
		return &Reply{Tokens: Stream(ctx, "You asked: "+q.Question)}, nil
	})
	r, err := e.Answer(context.Background(), Query{Question: "why?"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for tok := range r.Tokens {
		b.WriteString(tok)
	}
	if got, want := b.String(), "You asked: why?"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
