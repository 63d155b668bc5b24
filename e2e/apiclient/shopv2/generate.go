// Package shopv2 is a client of the e2e test's shop API, version v2,
// generated from the document Weft published (see package apiclient).
package shopv2

//go:generate go tool oapi-codegen -generate types,client -package shopv2 -o client.gen.go openapi.json
