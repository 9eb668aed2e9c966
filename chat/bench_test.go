package chat

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
)

// generatedCorpus returns Markdown files of about fileBytes each, with
// "##" sections of about sectionBytes, until total bytes or sections are
// reached: prose of words drawn from a fixed vocabulary (Zipf-like, as in
// real text), an identifier, a list and now and then a code block or a
// table. The same seed gives the same folder.
func generatedCorpus(sections, total int) fstest.MapFS {
	r := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 5000)
	for i := range vocab {
		var w strings.Builder
		for n := 3 + r.IntN(7); n > 0; n-- {
			w.WriteByte(byte('a' + r.IntN(26)))
		}
		vocab[i] = w.String()
	}
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	word := func() string { return vocab[zipf.Uint64()] }
	sentence := func() string {
		n := 6 + r.IntN(14)
		ws := make([]string, n)
		for i := range ws {
			ws[i] = word()
		}
		s := strings.Join(ws, " ")
		return strings.ToUpper(s[:1]) + s[1:] + "."
	}
	fsys := fstest.MapFS{}
	var size, count int
	for f := 0; count < sections && size < total; f++ {
		var b strings.Builder
		fmt.Fprintf(&b, "# %s %s\n\n%s\n\n", word(), word(), sentence())
		for s := 0; s < 20 && count < sections && size+b.Len() < total; s++ {
			fmt.Fprintf(&b, "## %s %s %s\n\n", word(), word(), word())
			for p := 0; p < 2+r.IntN(3); p++ {
				for k := 0; k < 3; k++ {
					b.WriteString(sentence() + " ")
				}
				b.WriteString("\n\n")
			}
			fmt.Fprintf(&b, "Set `%s_%s` to choose:\n\n- %s\n- %s\n\n", strings.ToUpper(word()), strings.ToUpper(word()), sentence(), sentence())
			switch r.IntN(4) {
			case 0:
				fmt.Fprintf(&b, "```sh\n%s --%s=%d\n```\n\n", word(), word(), r.IntN(100))
			case 1:
				fmt.Fprintf(&b, "| %s | %s |\n| --- | --- |\n| %s | %d |\n\n", word(), word(), word(), r.IntN(100))
			}
			count++
		}
		size += b.Len()
		fsys[fmt.Sprintf("doc%04d.md", f)] = &fstest.MapFile{Data: []byte(b.String())}
	}
	return fsys
}

// BenchmarkAnswer times one whole answer, streamed to the end, over a
// generated corpus of 1,000 sections: search, composition and streaming.
func BenchmarkAnswer(b *testing.B) {
	passages, err := Load(generatedCorpus(1000, 1<<30))
	if err != nil {
		b.Fatal(err)
	}
	ix := NewIndex(passages)
	d := NewDocs(ix)
	// Questions made of words of the corpus, a typo, and one off topic.
	var questions []string
	for i := 0; len(questions) < 20; i++ {
		ws := strings.Fields(passages[(i*37)%len(passages)].Text)
		if len(ws) >= 8 {
			questions = append(questions, "how do i "+ws[1]+" the "+ws[4]+" "+ws[7])
		}
	}
	questions = append(questions, "what is the weather today")
	b.ReportMetric(float64(len(passages)), "passages")
	b.ReportAllocs()
	b.ResetTimer()
	answerEach(b, d, questions)
}

// BenchmarkIndex10MB times Load and NewIndex over a generated 10 MB
// folder and reports the heap the passages and their index keep
// (heap-MB), measured after a collection.
func BenchmarkIndex10MB(b *testing.B) {
	fsys := generatedCorpus(1<<30, 10<<20)
	var size int64
	for _, f := range fsys {
		size += int64(len(f.Data))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	var ix *Index
	var before, after runtime.MemStats
	for b.Loop() {
		b.StopTimer()
		ix = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		passages, err := Load(fsys)
		if err != nil {
			b.Fatal(err)
		}
		ix = NewIndex(passages)
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.StartTimer()
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
	b.ReportMetric(float64(len(ix.passages)), "passages")
}

// foreignCorpus returns the three foreign corpora of testdata (chi, pip,
// pino: documents written by others) copied into as many folders as make
// about total bytes, and the development questions asked of them.
func foreignCorpus(tb testing.TB, total int) (fstest.MapFS, []string) {
	tb.Helper()
	fsys := fstest.MapFS{}
	size := 0
	for n := 0; size < total; n++ {
		for _, name := range []string{"chi", "pip", "pino"} {
			dir := "testdata/" + name + "/docs"
			entries, err := os.ReadDir(dir)
			if err != nil {
				tb.Fatal(err)
			}
			for _, e := range entries {
				data, err := os.ReadFile(dir + "/" + e.Name())
				if err != nil {
					tb.Fatal(err)
				}
				fsys[fmt.Sprintf("copy%02d/%s/%s", n, name, e.Name())] = &fstest.MapFile{Data: data}
				size += len(data)
			}
		}
	}
	var questions []string
	for _, cases := range [][]qualityCase{chiDev, pipDev, pinoDev} {
		for _, c := range cases {
			questions = append(questions, c.question)
		}
	}
	return fsys, questions
}

// BenchmarkAnswerForeign10MB times one whole answer, as BenchmarkAnswer
// does, over a 10 MB folder of documents written by others (the foreign
// corpora, copied), asking their development questions in turn.
func BenchmarkAnswerForeign10MB(b *testing.B) {
	fsys, questions := foreignCorpus(b, 10<<20)
	d := docsOf(b, fsys)
	b.ReportAllocs()
	answerEach(b, d, questions)
}

// answerEach asks d the questions in turn, each answer streamed to its
// end, for as long as b runs.
func answerEach(b *testing.B, d *Docs, questions []string) {
	for i := 0; b.Loop(); i++ {
		r, err := d.Answer(b.Context(), Query{Question: questions[i%len(questions)]})
		if err != nil {
			b.Fatal(err)
		}
		for _, err := range r.Tokens {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
