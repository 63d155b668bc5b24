-- API products (apim): a product groups published routes under versions,
-- each version pinned to flow versions. The document is JSON; revision
-- grows on every save so processes can tell a changed product.
CREATE TABLE products (
  name TEXT PRIMARY KEY,
  namespace TEXT NOT NULL DEFAULT 'default',
  revision BIGINT NOT NULL,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX products_namespace ON products (namespace);
