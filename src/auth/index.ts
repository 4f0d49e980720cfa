export { TokenSigner, TokenError, type TokenClaims, type TokenRole, type TokenProblem } from './tokens';
