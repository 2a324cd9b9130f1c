export { createApp, type CreateAppOptions } from './app.js';
export { buildOpenApiDocument, type OpenApiOptions } from './openapi.js';
export { parseApiTokens } from './auth.js';
export { answerClientErrors, problemContentType, problemTypes, type Problem } from './problem.js';
