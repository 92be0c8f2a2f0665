lock '~> 3.17'

set :application, 'bench'
# A file:// URL, so that each node fetches a real pack as it would from a git server in production (a plain
# path would let git hard-link the objects on the same disk, which no production node can do).
set :repo_url, ENV.fetch('BENCH_REPO')
set :branch, ENV.fetch('TAG')
set :deploy_to, ENV.fetch('BENCH_DEPLOY_TO')
set :keep_releases, 5
set :linked_files, %w[app.env]
set :linked_dirs, %w[log]
set :pty, false
set :format, :airbrussh
set :log_level, :warn

namespace :bench do
  # The app records its version at build time, as relink's build step does.
  task :build do
    on roles(:app) do
      within release_path do
        execute :env, "RELINK_VERSION=#{fetch(:branch)}", "RELINK_COMMIT=#{fetch(:current_revision)}", :node, 'build.mjs'
      end
    end
  end

  task :restart do
    on roles(:app) do
      within current_path do
        execute :env, "RELINK_DEPLOY_TO=#{fetch(:deploy_to)}", :sh, 'bin/restart.sh'
      end
    end
  end
end

after 'deploy:updated', 'bench:build'
after 'deploy:published', 'bench:restart'
after 'deploy:finishing_rollback', 'bench:restart'
