# The sandbox nodes: BENCH_SANDBOX holds sandbox.json, the key and known_hosts.
require 'json'

sandbox = ENV.fetch('BENCH_SANDBOX')
state = JSON.parse(File.read(File.join(sandbox, 'sandbox.json')))
state['nodes'].first(Integer(ENV.fetch('BENCH_NODES', '10'))).each do |node|
  server node['address'], port: node['sshPort'], user: 'root', roles: %w[app]
end

set :ssh_options, {
  keys: [File.join(sandbox, 'id_ed25519')],
  user_known_hosts_file: File.join(sandbox, 'known_hosts'),
  verify_host_key: :always,
  auth_methods: %w[publickey],
}
