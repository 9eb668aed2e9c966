package chat_test

import (
	"context"
	"fmt"
	"log"
	"testing/fstest"

	"github.com/smartdocs-go/smartdocs/chat"
)

func ExampleDocs_Answer() {
	fsys := fstest.MapFS{
		"limits.md": {Data: []byte("# Limits\n\n## Default\n\nEach client may ask 3 questions per minute.\n\n" +
			"## Storage\n\nCounters live in memory unless REDIS_URL is set.\n")},
	}
	passages, err := chat.Load(fsys)
	if err != nil {
		log.Fatal(err)
	}
	engine := chat.NewDocs(chat.NewIndex(passages))

	reply, err := engine.Answer(context.Background(), chat.Query{Question: "how many questions per minute?"})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range reply.Sources {
		fmt.Printf("source: %s / %s\n", s.Name, s.Heading)
	}
	for token, err := range reply.Tokens {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(token)
	}
	fmt.Println()
	// Output:
	// source: limits.md / Default
	// Each client may ask 3 questions per minute.
}
