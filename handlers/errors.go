package handlers

import (
	"context"
	"errors"
	"net/http"
)

// engineStatus maps an answer engine's error to a status and a message
// that is safe to show: the only place that decides either.
func engineStatus(err error) (int, string) {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "The answer engine took too long."
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this.
		return 499, "Client closed request."
	}
	return http.StatusBadGateway, "The answer engine failed."
}

// publicMessage is what an error line of the stream says.
func publicMessage(err error) string {
	_, msg := engineStatus(err)
	return msg
}
