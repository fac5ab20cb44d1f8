import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// docker-compose.yml and the Grafana provisioning it mounts. There is no Docker engine on the test machines, so the
// stack is not started here: `docker-compose config -q` checks the file as compose reads it (skipped without it).
const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;
if (!hasCompose) console.warn('compose-config.test.ts: docker-compose not found; `docker-compose config -q` is skipped');

const PASSWORDS = { POSTGRES_PASSWORD: 'x', RABBITMQ_PASSWORD: 'x', CUSTOMER_RABBITMQ_PASSWORD: 'x', RABBITMQ_ADMIN_PASSWORD: 'x' };

describe('the compose stack', () => {
  it.skipIf(!hasCompose)('when docker-compose reads the file with the required passwords set, then it is valid (skipped without docker-compose)', () => {
    const result = spawnSync('docker-compose', ['config', '-q'], { encoding: 'utf8', env: { ...process.env, ...PASSWORDS }, timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
  });

  it('when the service is scaled (--scale order-service=3), then no replica claims a host port and the gateway spreads requests over all of them', () => {
    type Service = { ports?: string[]; expose?: string[]; volumes?: string[]; image?: string };
    const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Service> };
    expect(compose.services['order-service']!.ports).toBeUndefined();
    expect(compose.services['order-service']!.expose).toEqual(['8000']);
    expect(compose.services.gateway!.ports).toEqual(['127.0.0.1:8000:8000']);
    expect(compose.services.gateway!.volumes).toContain('./configs/nginx/gateway.conf:/etc/nginx/conf.d/default.conf:ro');
    const gateway = readFileSync('configs/nginx/gateway.conf', 'utf8');
    // A variable in proxy_pass with Docker's resolver: nginx looks the name up again, so it finds every replica.
    expect(gateway).toMatch(/resolver 127\.0\.0\.11 /);
    expect(gateway).toMatch(/set \$order_service http:\/\/order-service:8000;\s+proxy_pass \$order_service;/);
  });

  it.skipIf(!hasCompose)('when docker-compose reads the file with the cluster override, then it is valid, and the service lists the three nodes with quorum queues (skipped without docker-compose)', () => {
    const env = { ...process.env, ...PASSWORDS, RABBITMQ_ERLANG_COOKIE: 'x' };
    const files = ['-f', 'docker-compose.yml', '-f', 'docker-compose.cluster.yml'];
    const check = spawnSync('docker-compose', [...files, 'config', '-q'], { encoding: 'utf8', env, timeout: 60_000 });
    expect(check.status, check.stderr).toBe(0);
    const merged = parse(spawnSync('docker-compose', [...files, 'config'], { encoding: 'utf8', env, timeout: 60_000 }).stdout) as { services: Record<string, { environment?: Record<string, string> }> };
    const service = merged.services['order-service']!.environment!;
    expect(service.QUEUE_TYPE).toBe('quorum');
    expect(service.AMQP_URL!.split(',').map((url) => new URL(url).host)).toEqual(['rabbitmq:5672', 'rabbitmq-2:5672', 'rabbitmq-3:5672']);
    for (const node of ['rabbitmq', 'rabbitmq-2', 'rabbitmq-3']) expect(merged.services[node]!.environment!.RABBITMQ_ERLANG_COOKIE, node).toBe('x');
  });

  it('when the service runs in compose, then it sends traces to Tempo, which Grafana reads, and log lines link to them', () => {
    const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, { environment?: Record<string, string>; volumes?: string[] }> };
    expect(compose.services['order-service']!.environment!.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('${OTEL_EXPORTER_OTLP_ENDPOINT:-http://tempo:4318}');
    expect(compose.services.tempo!.volumes).toContain('./configs/tempo/tempo.yml:/etc/tempo/tempo.yml:ro');
    const tempo = parse(readFileSync('configs/tempo/tempo.yml', 'utf8')) as { distributor: { receivers: { otlp: { protocols: { http: { endpoint: string } } } } } };
    expect(tempo.distributor.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    const sources = (parse(readFileSync('grafana/provisioning/datasources/datasources.yml', 'utf8')) as { datasources: { uid: string; type: string; url: string; jsonData: Record<string, any> }[] }).datasources;
    const byUid = new Map(sources.map((source) => [source.uid, source]));
    expect(byUid.get('tempo')).toMatchObject({ type: 'tempo', url: 'http://tempo:3200' });
    expect(byUid.get('tempo')!.jsonData.tracesToLogsV2.datasourceUid).toBe('loki');
    const [link] = byUid.get('loki')!.jsonData.derivedFields;
    expect(link.datasourceUid).toBe('tempo');
    // The pattern finds the trace id in a log line as the service writes it.
    const line = JSON.stringify({ message: 'command CreateOrder handled', trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' });
    expect(new RegExp(link.matcherRegex).exec(line)?.[1]).toBe('0af7651916cd43dd8448eb211c80319c');
  });
});
