// An EHR that signs its CDS Hooks calls: an ES384 key pair, the CDS_TRUSTED_ISSUERS entry that trusts it, and a
// signer producing the client JWT for a given service URL (aud), as the CDS Hooks sandbox and Inferno sign them.
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

export interface EhrSigner {
  /** Issuer (`iss`) of every token. */
  issuer: string;
  /** Environment for testApp(): trust this issuer (inline JWKS) and fix the audience base. */
  env: Record<string, string>;
  /** `Bearer <jwt>` for a call to `path` (e.g. `/cds-services/pumpcheck-order-sign`); a fresh jti each time. */
  authorization(path: string): Promise<string>;
}

export async function createEhrSigner(options: { issuer?: string; publicBaseUrl?: string } = {}): Promise<EhrSigner> {
  const issuer = options.issuer ?? 'https://ehr.example.org';
  const base = (options.publicBaseUrl ?? 'https://pumpcheck.test').replace(/\/+$/, '');
  const kid = randomUUID();
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  return {
    issuer,
    env: { PUBLIC_BASE_URL: base, CDS_TRUSTED_ISSUERS: JSON.stringify({ [issuer]: { jwks: { keys: [jwk] } } }) },
    async authorization(path: string) {
      const now = Math.floor(Date.now() / 1000);
      const jwt = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES384', typ: 'JWT', kid })
        .setIssuer(issuer)
        .setAudience(`${base}${path}`)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(privateKey);
      return `Bearer ${jwt}`;
    },
  };
}
