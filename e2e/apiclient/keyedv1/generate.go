// Package keyedv1 is a client of the e2e test's keyed API (a product with
// auth: api_key), version v1, generated from the document Weft published
// (see package apiclient).
package keyedv1

//go:generate go tool oapi-codegen -generate types,client -package keyedv1 -o client.gen.go openapi.json
