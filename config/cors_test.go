package config

import (
	"strings"
	"testing"
)

func TestCORSOrigins(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{"*", []string{"*"}, false},
		{"http://localhost:5173", []string{"http://localhost:5173"}, false},
		{" http://localhost:5173/ , https://*.HF.space ", []string{"http://localhost:5173", "https://*.hf.space"}, false},
		{"https://example.com,http://127.0.0.1:3000", []string{"https://example.com", "http://127.0.0.1:3000"}, false},
		{"localhost:5173", nil, true},
		{"*.hf.space", nil, true},
		{"https://example.com/app", nil, true},
		{"https://*.*.hf.space", nil, true},
		{"https://hf.*.space", nil, true},
		{"ftp://example.com", nil, true},
		{"*,https://example.com", nil, true},
		{",", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := corsOrigins(envOf(map[string]string{"CORS_ORIGINS": tt.in}))
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "config: CORS_ORIGINS=") {
				t.Errorf("got %q, want it to name CORS_ORIGINS", err)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") || (got == nil) != (tt.want == nil) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
