// API-20: the major version in every server URL (/v<major>) is the major version of info.version.
export default function majorVersionMatchesServers(document) {
  const version = document?.info?.version;
  const major = typeof version === 'string' ? version.split('.')[0] : undefined;
  return (document?.servers ?? [])
    .map((server, index) => ({ url: String(server?.url ?? ''), index }))
    .filter(({ url }) => !url.endsWith(`/v${major}`) && url !== `v${major}`)
    .map(({ url, index }) => ({
      message: `server URL ${url} does not carry the major version v${major} of info.version ${version}`,
      path: ['servers', index, 'url'],
    }));
}
