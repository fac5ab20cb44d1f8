export { default, astToString } from 'openapi-typescript';
export type { OpenAPITSOptions } from 'openapi-typescript';
