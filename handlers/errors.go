package handlers

import (
	"context"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/smartdocs-go/smartdocs/chat"
)

// engineStatus maps an answer engine's error to a status and a message
// that is safe to show: the only place that decides either. retryAfter,
// in whole seconds, is above 0 when the response must carry Retry-After:
// when a model provider's own rate limit refused us and said how long to
// wait, which the client is told as it is.
func engineStatus(err error) (status int, msg string, retryAfter int) {
	var up *chat.UpstreamError
	if errors.As(err, &up) {
		switch up.Kind {
		case chat.UpstreamAuth:
			return http.StatusBadGateway, "The model provider refused this server's credentials; the operator must check its API key.", 0
		case chat.UpstreamRateLimited:
			return http.StatusServiceUnavailable, "The model provider is rate limiting this server; try again later.", ceilSeconds(up.RetryAfter)
		case chat.UpstreamTimeout:
			return http.StatusGatewayTimeout, "The model provider took too long to answer.", 0
		case chat.UpstreamRejected:
			return http.StatusBadGateway, "The model provider refused the request.", 0
		case chat.UpstreamMalformed:
			return http.StatusBadGateway, "The model provider sent an answer that could not be read.", 0
		}
		return http.StatusBadGateway, "The model provider is unavailable; try again later.", 0
	}
	switch {
	case errors.Is(err, errAnswerTooLong):
		return http.StatusBadGateway, "The answer was longer than this server allows; it was cut short.", 0
	case errors.Is(err, errAnswerTooSlow):
		return http.StatusGatewayTimeout, "The answer took longer than this server allows; it was cut short.", 0
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "The answer engine took too long.", 0
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this.
		return 499, "Client closed request.", 0
	}
	return http.StatusBadGateway, "The answer engine failed.", 0
}

// ceilSeconds is d in whole seconds, rounded up; 0 for no wait.
func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(min(math.Ceil(d.Seconds()), math.MaxInt32))
}

// publicMessage is what an error line of the stream says.
func publicMessage(err error) string {
	_, msg, _ := engineStatus(err)
	return msg
}
