// Package shopv1 is a client of the e2e test's shop API, version v1,
// generated from the document Weft published (see package apiclient).
package shopv1

//go:generate go tool oapi-codegen -generate types,client -package shopv1 -o client.gen.go openapi.json
