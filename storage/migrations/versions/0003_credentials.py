"""Connected accounts: accounts.publisher, encrypted credentials with a refresh lease, OAuth states.

Revision ID: 0002_credentials
Revises: 0002_content_library
Create Date: 2026-12-02 19:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002_credentials'
down_revision: Union[str, Sequence[str], None] = '0002_content_library'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publisher', sa.String(length=32), server_default='', nullable=False))

    op.create_table('credentials',
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('publisher', sa.String(length=32), nullable=False),
    sa.Column('platform_user_id', sa.String(length=200), nullable=False),
    sa.Column('handle', sa.String(length=200), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=False),
    sa.Column('refresh_token', sa.Text(), nullable=True),
    sa.Column('token_secret', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refresh_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('needs_reauth', sa.Boolean(), nullable=False),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('refresh_holder', sa.String(length=200), nullable=True),
    sa.Column('refresh_lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_credentials'))
    )
    op.create_table('oauth_states',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('slack_user', sa.String(length=64), nullable=False),
    sa.Column('slack_team', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=True),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('redirect_uri', sa.Text(), nullable=False),
    sa.Column('authorize_url', sa.Text(), nullable=False),
    sa.Column('code_verifier', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_oauth_states'))
    )
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_states_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_states_expires_at'))

    op.drop_table('oauth_states')
    op.drop_table('credentials')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('publisher')
