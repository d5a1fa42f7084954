import { ApiKeyring } from '../../src/api/auth.js';
import { hashKey, roles, type Role } from '../../src/config/api-keys.js';

/** One API key per role; long random-looking strings, as real ones are. */
export const ROLE_KEYS: Record<Role, string> = {
  viewer: 'viewer-key-7Qm2xW9pLr4tZs8vKe3n',
  analyst: 'analyst-key-Hc5yTb1uNd6gFj0aPq7w',
  editor: 'editor-key-Xk3vRm8sLp2qWz6tYb9c',
  admin: 'admin-key-Gf4hJk7lMn1bVc5xZa8s',
};

/** The Authorization header of the role's key. */
export const auth = (role: Role) => ({ authorization: `Bearer ${ROLE_KEYS[role]}` });

/** A keyring holding ROLE_KEYS, each named "<role>-key". */
export const roleKeyring = () => new ApiKeyring(roles.map((role) => ({ name: `${role}-key`, role, sha256: hashKey(ROLE_KEYS[role]) })));
