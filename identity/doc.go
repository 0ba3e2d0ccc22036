// Package identity is the web app's identity, roles and scope core: accounts
// with argon2id passwords, browser sessions kept hashed in SQL, CSRF tokens
// bound to the session, hashed API tokens for integrations, the roles and
// their scopes with one authorisation function, login rate limits and the
// audit log. It owns the types and the rules; SQL lives in store/identity.go
// behind the Repository interface, and the HTTP API mounts the middleware.
//
// The actor of a request is only ever what the middleware authenticated and
// put in the context (ActorFrom); never anything read from a body.
// docs/identity.md records the decisions (roles table, cookie, CSRF, rate
// limits, argon2 parameters).
package identity
