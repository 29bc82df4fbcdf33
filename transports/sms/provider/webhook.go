package provider

import (
	"context"
	"net/http"
)

// Store answers one authenticated webhook request for a provider: 400 with
// parseErr when the request could not be parsed, 503 when store (the
// Sink's Inbound or DeliveryReport) could not keep v durably, so that the
// service sends it again. It returns true once v is stored; the caller then
// writes the success answer its service expects.
func Store[T any](w http.ResponseWriter, r *http.Request, v T, parseErr error, store func(context.Context, T) error) bool {
	if parseErr != nil {
		http.Error(w, parseErr.Error(), http.StatusBadRequest)
		return false
	}
	if err := store(r.Context(), v); err != nil {
		http.Error(w, "not stored", http.StatusServiceUnavailable)
		return false
	}
	return true
}
