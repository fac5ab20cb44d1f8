import type { Mediator } from '../kernel/mediator.js';
import { SCOPES } from '../kernel/actor.js';
import { listParams } from '../kernel/schemas.js';
import type { RouteSpec } from '../platform/http/route-spec.js';
import { CreateProduct } from './create-product.js';
import { RenameProduct } from './rename-product.js';
import { GetProductByName, ListProducts } from './product-queries.js';
import { productJson, productPage } from './product-json.js';

export function productRoutes(mediator: Mediator): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/products',
      operationId: 'createProduct',
      tag: 'products',
      summary: 'Create a product',
      requires: [SCOPES.catalogWrite],
      request: { body: CreateProduct.schema },
      success: { status: 204, description: 'created' },
      errors: [409],
      handle: ({ body, correlationId, actor }) => mediator.receive(CreateProduct, body, correlationId, { actor }),
    },
    {
      method: 'put',
      path: '/products/:productID/productName',
      operationId: 'renameProduct',
      tag: 'products',
      summary: 'Rename a product',
      requires: [SCOPES.catalogWrite],
      request: { params: RenameProduct.schema.pick({ productID: true }), body: RenameProduct.schema.pick({ productName: true }) },
      success: { status: 204, description: 'renamed' },
      errors: [404, 409],
      handle: ({ params, body, correlationId, actor }) =>
        mediator.receive(RenameProduct, { productName: body.productName, productID: params.productID }, correlationId, { actor }),
    },
    {
      method: 'get',
      path: '/products',
      operationId: 'listProducts',
      tag: 'products',
      summary: 'List products sorted by price',
      requires: [],
      request: { query: listParams },
      success: { status: 200, description: 'a page of products', schema: productPage },
      errors: [],
      handle: ({ query, correlationId, actor }) => mediator.receive(ListProducts, query, correlationId, { actor }),
    },
    {
      method: 'get',
      path: '/products/:productName',
      operationId: 'getProductByName',
      tag: 'products',
      summary: 'Get a product by name',
      requires: [],
      request: { params: GetProductByName.schema },
      success: { status: 200, description: 'the product', schema: productJson },
      errors: [404],
      handle: ({ params, correlationId, actor }) => mediator.receive(GetProductByName, params, correlationId, { actor }),
    },
  ];
}
