package chat

// Passages is Retrieve with the passages themselves: up to k hits for q,
// best first, with their full text, for a language model to answer from.
// Retrieve's excerpts are too short to ground an answer in. A follow-up
// question is searched together with the last question in q.History, and
// a question the documents do not cover finds none.
func (d *Docs) Passages(q Query, k int) []Hit {
	hits, _ := retrieve(d.ix.Load(), q, k)
	return hits
}

// Source returns h as Retrieve lists it: name, title, heading, a short
// excerpt and the score.
func (h Hit) Source() Source {
	return sources([]Hit{h})[0]
}
