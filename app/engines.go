package main

import (
	"fmt"
	"log/slog"

	"github.com/smartdocs-go/smartdocs/chat"
	"github.com/smartdocs-go/smartdocs/chat/llm"
	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/handlers"
)

// newModels builds every engine a request can name, in /models order:
// docs always, and each language-model engine that is configured, all
// grounded in docs' passages. An engine that is not configured is listed
// with the variables it misses, which requests naming it are told in a
// 503.
func newModels(cfg config.Models, docs *chat.Docs, log *slog.Logger) ([]handlers.Model, error) {
	out := []handlers.Model{{Name: config.ModelDocs, Description: "Built-in search over the documents; no API key needed.", Engine: docs}}
	for _, m := range []struct {
		name, description string
		p                 config.Provider
	}{
		{config.ModelGemini, "Google Gemini (%s) through its OpenAI-compatible API, answering from the documents.", cfg.Gemini},
		{config.ModelLocal, "A local model through Ollama (%s), answering from the documents; no key needed.", cfg.Local},
		{config.ModelLLM, "Any OpenAI-compatible API (%s), answering from the documents.", cfg.LLM},
	} {
		shown := m.p.Model
		if shown == "" {
			shown = "model not set"
		}
		model := handlers.Model{Name: m.name, Description: fmt.Sprintf(m.description, shown)}
		if need := cfg.Missing(m.name); need != "" {
			model.Missing = need
			log.Info("model not configured", "model_type", m.name, "set", need)
			out = append(out, model)
			continue
		}
		e, err := llm.New(llm.Options{
			Name:    m.name,
			BaseURL: m.p.BaseURL,
			APIKey:  m.p.APIKey,
			Model:   m.p.Model,
			Timeout: cfg.Timeout,
			Docs:    docs,
		})
		if err != nil {
			return nil, err
		}
		model.Engine = e
		out = append(out, model)
	}
	return out, nil
}
